import { GreenlightError } from "../../shared/errors.js";
import type { Colour, Durations } from "../../shared/events.js";
import { otherColour } from "../state/releases.js";
import type { ContainerOutput } from "./container-output.js";
import type { ServicePorts } from "./ports.js";
import { reconcileService } from "./reconcile.js";
import type { ReleaseRun } from "./release-run.js";
import type { ReleaseRequest } from "./request.js";
import { StepLogger } from "./step-logger.js";

/** Starts the pull, reconciles, and records the release in progress: what every plan begins from. */
export async function beginRelease(
  ports: ServicePorts,
  request: ReleaseRequest,
  log: StepLogger,
  output: ContainerOutput,
  durations: Durations,
): Promise<ReleaseRun> {
  // The pull touches neither the switch nor the state, so it runs while the agent reconciles: on a cached
  // image most of a deploy's fixed cost is this bookkeeping, on a fresh one the pull hides it.
  const pullLog = new StepLogger(log.sink).at("pull");
  const pullStarted = Date.now();
  pullLog.info(`pulling ${request.image}`);
  const pulling = ports.runtime
    .pull(request.pinned ?? request.image, (line, kind) =>
      kind === "progress" ? pullLog.info(line) : pullLog.debug(line),
    )
    .then((image) => {
      pullLog.info(`pulled ${image.digest}`, { digest: image.digest });
      return image;
    })
    .finally(() => (durations.pull = Date.now() - pullStarted));
  // Awaited by the pull step; until then a failure must not surface as an unhandled rejection.
  pulling.catch(() => undefined);

  await reconcileService(ports, log.at("reconcile"));
  const { live } = await ports.store.read();
  const colour: Colour = live ? otherColour(live.colour) : "blue";
  const now = new Date().toISOString();
  let releaseId = "";
  await ports.store.update((s) => {
    releaseId = String(s.nextId);
    s.nextId += 1;
    s.records.push({
      id: releaseId,
      deployId: request.deployId,
      kind: request.kind,
      image: request.image,
      colour,
      status: "in_progress",
      startedAt: now,
      by: request.by,
    });
  });
  if (!releaseId) throw new GreenlightError("INTERNAL", "release record was not saved");
  // The live colour does not change while this release holds the lock.
  const running = live ? await ports.runtime.find(live.colour) : [];
  const previous = running.length > 0 ? running : undefined;
  return {
    ports,
    request,
    log,
    output,
    releaseId,
    colour,
    pulling,
    ...(live ? { live } : {}),
    ...(previous ? { previous } : {}),
  };
}

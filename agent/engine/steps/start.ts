import { asGreenlightError } from "../../../shared/errors.js";
import { addressesOf } from "../instances.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The idle colour, started from the pinned image; its output is followed until it serves. */
export const start: PlanStep<ReleaseRun> = {
  name: "start",
  async run(run) {
    const { runtime } = run.ports;
    const name = runtime.nameOf(run.colour);
    const replicas = run.ports.config.replicas;
    run.log.info(
      `starting ${name}${replicas > 1 ? ` (${replicas} replicas)` : ""} (release ${run.releaseId})`,
    );
    const fresh = await runtime.start({
      colour: run.colour,
      release: run.releaseId,
      deployId: run.request.deployId,
      image: run.pulled?.pinned ?? run.request.image,
    });
    run.fresh = fresh;
    const addresses = addressesOf(fresh);
    run.log.info(`started ${name} at ${addresses.join(", ")}`, {
      container: fresh.map((instance) => instance.id.slice(0, 12)).join(","),
      address: addresses.join(","),
    });
    // The switch's groundwork runs while the new colour gets ready; a failure there surfaces at the switch.
    const target = {
      colour: run.colour,
      release: run.releaseId,
      addresses,
      gateway: fresh[0]?.gateway ?? "",
    };
    run.ports.traffic?.prepare?.(target, run.log).catch(() => undefined);
    const stops = await Promise.all(
      fresh.map((instance) =>
        runtime.followOutput(instance.id, (line, cut, stream) => {
          run.outputSeen = true;
          run.output.line(line, cut, stream);
        }),
      ),
    );
    run.stopOutput = () => stops.forEach((stop) => stop());
  },
  async undo(run) {
    const { runtime } = run.ports;
    run.stopOutput?.();
    const name = runtime.nameOf(run.colour);
    if (!run.outputSeen) {
      // It died before its output was followed (a crash on start): show its last words anyway.
      await runtime
        .lastOutput(name, 30, (line, cut, stream) => run.output.line(line, cut, stream))
        .catch(() => undefined);
    }
    // Every instance of the new colour, also those a replica's failure left before `fresh` was known.
    const started = (await runtime.list().catch(() => [])).filter((i) => i.colour === run.colour);
    let removed = 0;
    for (const instance of started) {
      const gone = await runtime.remove(instance.id).catch((e: unknown) => {
        run.log.warn(`could not remove ${instance.name}: ${asGreenlightError(e).message}`);
        return false;
      });
      if (gone) removed += 1;
    }
    if (removed > 0) run.log.info("removed the new container(s); the previous release keeps serving");
  },
};

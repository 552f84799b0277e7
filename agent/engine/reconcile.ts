import type Docker from "dockerode";
import { asGreenlightError } from "../../shared/errors.js";
import { inspectRunning, listColours, removeContainer, type ColourContainer } from "../docker/containers.js";
import { markLive } from "../state/releases.js";
import { drainConnections } from "./drain.js";
import type { ServiceContext } from "./service.js";
import type { StepLogger } from "./step-logger.js";

/**
 * Brings Docker, the traffic switch and the state file back into agreement after a crash at any step, without
 * ever breaking traffic: the colour the switch serves stays (or, if it is gone, the state's colour takes over);
 * a switch that lost its rule or points at an old address is re-pointed; leftovers of an interrupted deploy are
 * drained and removed; interrupted releases are recorded as such.
 */
export async function reconcileService(docker: Docker, ctx: ServiceContext, log: StepLogger): Promise<void> {
  const state = await ctx.store.read();
  const containers = await listColours(docker, ctx.unit);
  const current = await ctx.traffic.current();
  const runningOf = async (colour: string) => {
    const found = containers.find((c) => c.colour === colour && c.running);
    return found ? inspectRunning(docker, found.id, ctx.config.network) : undefined;
  };

  // The switch names another release than the state: a crash between switching and recording. Keep what the
  // switch names if that colour runs (it may already serve), else go back to the state's colour.
  let live = state.live;
  const candidates = [
    ...(current ? [{ colour: current.colour, release: current.release }] : []),
    ...(live ? [live] : []),
  ];
  for (const candidate of candidates) {
    const running = await runningOf(candidate.colour);
    if (!running) continue;
    const address = `${running.ip}:${ctx.config.port}`;
    const agrees = current?.colour === candidate.colour && current.release === candidate.release;
    const stateAgrees = live?.colour === candidate.colour && live.release === candidate.release;
    if (!agrees || current?.address !== address || (ctx.traffic.mode === "reload" && !stateAgrees)) {
      log.warn(
        `switch and state disagree after an interruption; sending new requests to ${candidate.colour}`,
      );
      await ctx.traffic.switchTo({ ...candidate, address, gateway: running.gateway }, log);
    }
    if (!stateAgrees) {
      await ctx.store.update((s) => markLive(s, { colour: candidate.colour, release: candidate.release }));
    }
    live = candidate;
    break;
  }

  await recordInterrupted(ctx, log);
  // A fence stands until no flow is bound to its address; a crash may have left one whose flows are gone.
  await ctx.traffic.tidyFences();
  for (const container of containers) {
    if (live && container.colour === live.colour) {
      if (!container.running) await restart(docker, container, log);
      continue;
    }
    // Not the live colour: a leftover of an interrupted deploy. It may still finish requests from before a switch.
    const running = container.running
      ? await inspectRunning(docker, container.id, ctx.config.network)
      : undefined;
    if (running) {
      await drainConnections(running.pid, ctx.config.port, ctx.config.drain, (open) =>
        log.info(`${open} request(s) still in flight on leftover ${container.name}`),
      );
    }
    await removeContainer(docker, container.id, ctx.config.stop_grace);
    if (running) await ctx.traffic.retire(`${running.ip}:${ctx.config.port}`);
    log.info(`removed leftover ${container.name}`);
  }
}

async function restart(docker: Docker, container: ColourContainer, log: StepLogger): Promise<void> {
  log.warn(`${container.name} serves traffic but is not running; starting it`);
  await docker
    .getContainer(container.id)
    .start()
    .catch((e: unknown) => log.error(`could not start ${container.name}: ${asGreenlightError(e).message}`));
}

async function recordInterrupted(ctx: ServiceContext, log: StepLogger): Promise<void> {
  const interrupted = (await ctx.store.read()).records.filter((r) => r.status === "in_progress");
  if (interrupted.length === 0) return;
  await ctx.store.update((s) => {
    for (const r of s.records) {
      if (r.status !== "in_progress") continue;
      r.status = "interrupted";
      r.finishedAt ??= new Date().toISOString();
      r.error = { code: "INTERRUPTED", message: "the agent stopped before this deploy finished" };
    }
  });
  log.warn(
    `recorded ${interrupted.length} interrupted deploy(s): ${interrupted.map((r) => r.id).join(", ")}`,
  );
}

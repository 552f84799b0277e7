import type Docker from "dockerode";
import { readFile } from "node:fs/promises";
import { asGreenlightError } from "../../shared/errors.js";
import { inspectRunning, listColours, removeContainer } from "../docker/containers.js";
import { readUpstreamMarker } from "../nginx/upstream.js";
import { drainConnections } from "./drain.js";
import type { ServiceContext } from "./service.js";
import type { StepLogger } from "./step-logger.js";
import { switchTraffic } from "./switch.js";

async function readMarker(path: string) {
  try {
    return readUpstreamMarker(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Brings Docker, nginx and the state file back into agreement after a crash at any step, without ever breaking
 * traffic: the colour nginx serves stays (or, if it is gone, the other running colour takes over); leftovers of
 * an interrupted deploy are drained and removed; interrupted releases are recorded as such.
 */
export async function reconcileService(docker: Docker, ctx: ServiceContext, log: StepLogger): Promise<void> {
  const state = await ctx.store.read();
  const containers = await listColours(docker, ctx.name);
  const marker = await readMarker(ctx.config.nginx.upstream_file);
  let live = state.live;

  // The upstream file names another colour than the state: a crash between writing it and confirming the
  // reload. Adopt what the file says if that colour runs (nginx may already serve it), else restore the state's.
  if (marker && (!live || marker.colour !== live.colour || marker.release !== live.release)) {
    const named = containers.find((c) => c.colour === marker.colour && c.running);
    const running = named ? await inspectRunning(docker, named.id, ctx.config.network) : undefined;
    const target = running ? { ...marker, address: `${running.ip}:${ctx.config.port}` } : undefined;
    const fallback = live ? containers.find((c) => c.colour === live?.colour && c.running) : undefined;
    const fallbackRunning = fallback
      ? await inspectRunning(docker, fallback.id, ctx.config.network)
      : undefined;
    const chosen =
      target ??
      (live && fallbackRunning
        ? { ...live, address: `${fallbackRunning.ip}:${ctx.config.port}` }
        : undefined);
    if (chosen) {
      log.warn(`upstream file and state disagree after an interruption; making nginx serve ${chosen.colour}`);
      await switchTraffic(ctx, chosen, log);
      live = { colour: chosen.colour, release: chosen.release };
      const adopted = live;
      await ctx.store.update((s) => {
        s.live = adopted;
        for (const r of s.records) {
          if (r.id === adopted.release) r.status = "live";
          else if (r.status === "live") r.status = "retired";
        }
      });
    }
  }

  const interrupted = (await ctx.store.read()).records.filter((r) => r.status === "in_progress");
  if (interrupted.length > 0) {
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

  for (const container of containers) {
    if (live && container.colour === live.colour) {
      if (!container.running) {
        log.warn(`${container.name} serves traffic but is not running; starting it`);
        await docker
          .getContainer(container.id)
          .start()
          .catch((e: unknown) => {
            log.error(`could not start ${container.name}: ${asGreenlightError(e).message}`);
          });
      }
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
    log.info(`removed leftover ${container.name}`);
  }
}

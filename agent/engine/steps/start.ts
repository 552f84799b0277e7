import { asGreenlightError } from "../../../shared/errors.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The idle colour, started from the pinned image; its output is followed until it serves. */
export const start: PlanStep<ReleaseRun> = {
  name: "start",
  async run(run) {
    const { runtime } = run.ports;
    const name = runtime.nameOf(run.colour);
    run.log.info(`starting ${name} (release ${run.releaseId})`);
    const fresh = await runtime.start({
      colour: run.colour,
      release: run.releaseId,
      deployId: run.request.deployId,
      image: run.pulled?.pinned ?? run.request.image,
    });
    run.fresh = fresh;
    run.log.info(`started ${name} at ${fresh.address}`, {
      container: fresh.id.slice(0, 12),
      address: fresh.address,
    });
    // The switch's groundwork runs while the new colour gets ready; a failure there surfaces at the switch.
    const target = {
      colour: run.colour,
      release: run.releaseId,
      address: fresh.address,
      gateway: fresh.gateway,
    };
    run.ports.traffic?.prepare?.(target, run.log).catch(() => undefined);
    run.stopOutput = await runtime.followOutput(fresh.id, (line, cut, stream) => {
      run.outputSeen = true;
      run.output.line(line, cut, stream);
    });
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
    const removed = await runtime.remove(name).catch((e: unknown) => {
      run.log.warn(`could not remove the failed container: ${asGreenlightError(e).message}`);
      return false;
    });
    if (removed) run.log.info("removed the new container; the previous release keeps serving");
  },
};

import { formatDuration } from "../../../shared/duration.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/**
 * `overlap: false`: the old release stops before the new one starts, so the two never run at once (a scheduler,
 * a consumer that must not run twice). It is stopped, not removed: a failure before the record starts it again.
 */
export const haltFirst: PlanStep<ReleaseRun> = {
  name: "stop",
  when: (run) => Boolean(run.previous && !run.ports.traffic && run.ports.config.overlap === false),
  async run(run) {
    const { previous, live } = run;
    if (!previous || !live) return;
    const { runtime, config } = run.ports;
    const name = runtime.nameOf(live.colour);
    run.log.info(
      `overlap is off: stopping ${name} before the new release starts (${config.stop_signal}, grace ${formatDuration(config.stop_grace)})`,
    );
    run.halted = true;
    await Promise.all(previous.map((instance) => runtime.stop(instance.id)));
    run.log.info(`stopped ${name}; it is removed once release ${run.releaseId} is live`);
  },
  async undo(run) {
    const { previous, live } = run;
    if (!previous || !live || !run.halted) return;
    for (const instance of previous) await run.ports.runtime.restart(instance.id);
    run.halted = false;
    run.log.warn(`started ${run.ports.runtime.nameOf(live.colour)} (release ${live.release}) again`);
  },
};

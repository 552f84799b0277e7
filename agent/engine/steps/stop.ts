import { formatDuration } from "../../../shared/duration.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The drained old colour stops with its signal and grace; its address is retired while it is removed. */
export const stop: PlanStep<ReleaseRun> = {
  name: "stop",
  when: (run) => Boolean(run.previous),
  async run(run) {
    const previous = run.previous;
    const live = run.live;
    if (!previous || !live) return;
    const { runtime, traffic, config } = run.ports;
    const name = runtime.nameOf(live.colour);
    if (run.halted) {
      for (const instance of previous) await runtime.remove(instance.id, 0);
      run.log.info(`removed ${name}, stopped before the new release started`);
      return;
    }
    run.log.info(`stopping ${name} (${config.stop_signal}, grace ${formatDuration(config.stop_grace)})`);
    // All at once: each takes up to the grace, and none of them takes new requests any more.
    await Promise.all(previous.map((instance) => runtime.stop(instance.id)));
    // A stopped container has left the network: its address can be retired while it is removed.
    await Promise.all(
      previous.flatMap((instance) => [runtime.remove(instance.id, 0), traffic?.retire(instance.address)]),
    );
    run.log.info(`stopped and removed ${name}`);
  },
};

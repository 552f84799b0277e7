import { formatDuration } from "../../../shared/duration.js";
import { drainConnections } from "../drain.js";
import { openOn } from "../instances.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The old colour finishes its in-flight requests: counted on facts (its open connections), up to a deadline. */
export const drain: PlanStep<ReleaseRun> = {
  name: "drain",
  when: (run) => Boolean(run.previous && run.ports.traffic),
  async run(run) {
    const previous = run.previous;
    const old = run.live?.colour;
    if (!previous) return;
    const deadline = run.ports.config.drain;
    run.log.info(
      `draining ${old}: waiting for its in-flight requests (deadline ${formatDuration(deadline)})`,
    );
    const outcome = await drainConnections(
      () => openOn(previous, (instance) => run.ports.runtime.openConnections(instance)),
      deadline,
      (open) => run.log.info(`${open} request(s) still in flight on ${old}`),
    );
    if (outcome.drained) {
      run.drainTail = outcome.tailMs;
      run.log.info(`${old} drained in ${formatDuration(outcome.elapsedMs)}`);
    } else
      run.log.warn(`drain deadline passed with ${outcome.remaining} connection(s) open; stopping anyway`);
  },
};

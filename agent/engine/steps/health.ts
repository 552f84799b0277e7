import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The new colour takes no traffic until it is ready. */
export const health: PlanStep<ReleaseRun> = {
  name: "health",
  async run(run) {
    if (!run.fresh) throw new Error("health before start");
    await run.ports.readiness.wait(run.fresh, run.log, run.request.signal);
    // Ready to serve: from here Docker brings it back if it dies (before, a crash must show as a crash). Set
    // before the switch, so once traffic is on the new colour nothing but the record can fail.
    await run.ports.runtime.keepRunning(run.fresh.id);
  },
};

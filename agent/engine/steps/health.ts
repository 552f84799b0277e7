import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release.js";

/** The new colour takes no traffic until it is ready. */
export const health: PlanStep<ReleaseRun> = {
  name: "health",
  async run(run) {
    if (!run.fresh) throw new Error("health before start");
    await run.ports.readiness.wait(run.fresh, run.log, run.request.signal);
  },
};

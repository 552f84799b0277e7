import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The new colour takes no traffic until every one of its instances is ready. */
export const health: PlanStep<ReleaseRun> = {
  name: "health",
  async run(run) {
    if (!run.fresh) throw new Error("health before start");
    const { readiness, runtime } = run.ports;
    await Promise.all(run.fresh.map((instance) => readiness.wait(instance, run.log, run.request.signal)));
    // Ready to serve: from here Docker brings it back if it dies (before, a crash must show as a crash). Set
    // before the switch, so once traffic is on the new colour nothing but the record can fail.
    for (const instance of run.fresh) await runtime.keepRunning(instance.id);
  },
};

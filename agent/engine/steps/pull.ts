import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** The image, pulled while the agent reconciled; its digest is what the release records. */
export const pull: PlanStep<ReleaseRun> = {
  name: "pull",
  timedElsewhere: true,
  abandonable: true,
  async run(run) {
    run.pulled = await run.pulling;
  },
};

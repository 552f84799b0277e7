import type { DeployResult, Durations } from "../../shared/events.js";
import { runPlan, type PlanStep } from "./plan.js";
import type { ServicePorts } from "./ports.js";
import type { ReleaseRun } from "./release-run.js";

/**
 * The steps after the result: a failure here changes no result (the release is live and recorded); it is
 * logged, and what it left (an old colour still running) is removed by the next reconcile.
 */
export async function finishAfterResult(
  run: ReleaseRun,
  durations: Durations,
  steps: PlanStep<ReleaseRun>[],
): Promise<void> {
  const tail = await runPlan(steps, run, run.log, durations);
  if (tail.error) {
    run.log.warn(
      `the release is live; ${tail.failedAt} did not finish (${tail.error.message}), reconcile will`,
    );
  }
  await run.ports.store
    .update((s) => {
      const entry = s.records.find((r) => r.id === run.releaseId);
      if (entry) entry.durations = { ...durations };
    })
    .catch(() => undefined);
}

/** The release the store records live, with its digest: what serves after a deploy that failed. */
export async function servingNow(ports: ServicePorts): Promise<DeployResult["serving"]> {
  const state = await ports.store.read().catch(() => undefined);
  const live = state?.live?.release;
  if (!live) return undefined;
  const digest = state.records.find((r) => r.id === live)?.digest;
  return { release: live, ...(digest ? { digest } : {}) };
}

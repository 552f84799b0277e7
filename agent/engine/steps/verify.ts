import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/** Optional: a request through the proxy itself proves the path users take reaches the new colour. */
export const verify: PlanStep<ReleaseRun> = {
  name: "verify",
  when: (run) => Boolean(run.ports.proxy?.verify && run.live && run.previous),
  async run(run) {
    const check = run.ports.proxy?.verify;
    if (!check) return;
    const target = run.ports.config.verify;
    run.log.info(
      `verifying through the proxy: ${target?.url ?? "?"}${target?.host ? ` (Host: ${target.host})` : ""}`,
    );
    run.log.info(`the proxy serves the new release (${await check(run.request.signal)})`);
  },
};

import { markLive } from "../../state/releases.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/**
 * The new release is recorded live: the commit point. Before it, any failure switches back; after it, the old
 * colour may go and nothing is undone.
 */
export const record: PlanStep<ReleaseRun> = {
  name: "record",
  commits: true,
  async run(run) {
    await run.ports.store.update((s) => {
      markLive(s, { colour: run.colour, release: run.releaseId });
      const entry = s.records.find((r) => r.id === run.releaseId);
      if (entry && run.pulled) entry.digest = run.pulled.digest;
    });
    if (run.ports.proxy && !run.hadUpstream) await run.ports.proxy.prepare(run.log);
  },
};

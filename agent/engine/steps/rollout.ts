import { GreenlightError } from "../../../shared/errors.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";
import { routingWhile } from "../task-routing.js";

/**
 * The orchestrator's own rolling update to the new image's digest (Swarm: each task replaced start-first,
 * watched, rolled back by Swarm when new tasks fail), followed to its end. A failure Swarm already rolled back
 * needs no undo; a cancel or a deadline asks Swarm to roll back.
 */
export const rollout: PlanStep<ReleaseRun> = {
  name: "start",
  async run(run) {
    const { rollout: orchestrator, proxy, rolloutAddress, store } = run.ports;
    if (!orchestrator) throw new Error("rollout without an orchestrator");
    const pulled = run.pulled;
    // The record says what it rolls to before Swarm is asked: an agent restarted mid-update can finish it.
    if (pulled)
      await store.update((s) => {
        const entry = s.records.find((r) => r.id === run.releaseId);
        if (entry) entry.digest = pulled.digest;
      });
    // Routed by greenlight: the NAT rule follows Swarm's tasks as Swarm replaces them (and as it rolls back).
    const outcome = await routingWhile(
      run.ports,
      run.log,
      orchestrator.roll(
        {
          image: pulled?.pinned ?? run.request.image,
          release: run.releaseId,
          deployId: run.request.deployId,
        },
        run.log,
        run.request.signal,
      ),
      run.releaseId,
    );
    run.tookTraffic = outcome.newTasksRan;
    if (!outcome.converged) {
      throw new GreenlightError(
        "ROLLOUT_FAILED",
        `Swarm did not complete the update (${outcome.message ?? "no reason given"}); it rolled back, the previous release serves`,
      );
    }
    if (proxy && rolloutAddress && (await proxy.routeToStable(rolloutAddress, run.log)))
      run.log.info(
        `pointed the proxy at Swarm's published port ${rolloutAddress} (not repeated on later deploys)`,
      );
  },
  async undo(run, error) {
    if (error.code === "ROLLOUT_FAILED") return;
    const orchestrator = run.ports.rollout;
    if (orchestrator) await routingWhile(run.ports, run.log, orchestrator.revert(run.log));
  },
};

import { markLive } from "../state/releases.js";
import type { ServicePorts } from "./ports.js";
import type { StepLogger } from "./step-logger.js";
import { routeToTasks, routingWhile } from "./task-routing.js";

/**
 * A service an orchestrator rolls, after an agent restart: an update Swarm was still making is followed to its
 * end (Swarm carries on without the agent), and the release that was being deployed is recorded as what Swarm
 * made of it — live when the service runs its digest, else left for reconcile to record as interrupted.
 */
export async function settleRollout(ports: ServicePorts, log: StepLogger): Promise<void> {
  const rollout = ports.rollout;
  if (!rollout) return;
  const before = await rollout.state();
  if (!before) return;
  if (before.updating) {
    log.warn(`Swarm was updating ${ports.unit} when the agent stopped: following the update to its end`);
    await routingWhile(ports, log, rollout.follow(log));
  }
  // Tasks Swarm replaced while no agent watched (a crash, a restart policy) are routed to again.
  await routeToTasks(ports, log);
  const after = await rollout.state();
  const state = await ports.store.read();
  const finished = state.records.find(
    (r) =>
      r.status === "in_progress" &&
      r.digest &&
      after &&
      !after.updating &&
      after.image.endsWith(`@${r.digest}`),
  );
  if (!finished || state.live?.release === finished.id) return;
  await ports.store.update((s) => {
    markLive(s, { colour: finished.colour, release: finished.id });
    const entry = s.records.find((r) => r.id === finished.id);
    if (entry) entry.finishedAt = new Date().toISOString();
  });
  log.info(`release ${finished.id} is live: Swarm completed the update the agent had asked for`);
}

import { formatDuration } from "../../shared/duration.js";
import { drainConnections } from "./drain.js";
import type { ServicePorts } from "./ports.js";
import type { StepLogger } from "./step-logger.js";

/** How often a deploy re-reads the tasks: well inside the 2 s Swarm waits between unbinding a task and stopping it. */
export const DEPLOY_ROUTE_INTERVAL_MS = 200;

/** One route at a time per service in this process: a stale read applied after a fresher one would undo it. */
const queues = new Map<string, Promise<unknown>>();
/** Addresses taken out of the rule whose tasks may still be winding down: retired once they are gone. */
const leaving = new Map<string, Set<string>>();

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((item) => b.includes(item));

/**
 * Points the service's NAT rule at the tasks the orchestrator counts as up on this host, and drains the ones it
 * told to stop. A leaving task is out of the rule at once (Swarm waits 2 s between unbinding a task and its stop
 * signal, and that signal is a held no-op), finishes what it has in flight, then gets its real stop signal; a
 * new task joins once Swarm counts it healthy. An empty set changes nothing: the last tasks keep the rule rather
 * than nothing answering at all.
 */
export function routeToTasks(ports: ServicePorts, log: StepLogger, release?: string): Promise<void> {
  const previous = queues.get(ports.unit) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => route(ports, log, release));
  queues.set(ports.unit, next);
  return next;
}

/** Held tasks being drained, by container id: each is drained once, whoever saw it leave first. */
const draining = new Map<string, Promise<void>>();

/**
 * A task Swarm told to stop, held by its no-op stop signal: once out of the rule, it finishes the requests it
 * has (up to `drain`), then gets the service's own stop signal. Swarm's stop grace period bounds it all.
 */
async function drainTask(ports: ServicePorts, task: { id: string; address: string }, log: StepLogger) {
  const { rollout, config } = ports;
  const count = rollout?.openConnections;
  if (!rollout?.stopTask || !count) return;
  const outcome = await drainConnections(
    () => count(task.id),
    config.drain,
    (open) => log.info(`task ${task.address}: ${open} request(s) still in flight`),
    50,
  );
  await rollout.stopTask(task.id);
  log.info(
    outcome.drained
      ? `task ${task.address} drained in ${formatDuration(outcome.elapsedMs)}; sent ${config.stop_signal}`
      : `task ${task.address} still had ${outcome.remaining} request(s) after drain ${formatDuration(config.drain)}; sent ${config.stop_signal}`,
  );
}

async function route(ports: ServicePorts, log: StepLogger, release?: string): Promise<void> {
  const { rollout, traffic } = ports;
  if (!rollout?.serving || !traffic) return;
  const tasks = await rollout.serving();
  // Held tasks only: without the hold Swarm stops them itself.
  for (const task of rollout.stopTask ? tasks.leaving : []) {
    if (draining.has(task.id)) continue;
    const waitForRule = queues.get(ports.unit);
    const job = (async () => {
      if (tasks.addresses.length === 0) {
        // Nothing else serves (a stop-first update, the service removed): holding it back helps no request.
        log.info(`task ${task.address}: no other task serves; stopping it now`);
        return rollout.stopTask?.(task.id);
      }
      // Drained once out of the rule (this route takes it out), never while it may still get new requests.
      await waitForRule;
      await drainTask(ports, task, log);
    })().then(
      // Remembered a while after: Swarm still lists the task as it winds down.
      () => void setTimeout(() => draining.delete(task.id), 60_000).unref(),
      (error: unknown) => {
        // Tried again by the next read of the tasks.
        draining.delete(task.id);
        log.warn(`could not drain task ${task.address}: ${(error as Error).message}`);
      },
    );
    draining.set(task.id, job);
  }
  const gone = leaving.get(ports.unit) ?? new Set<string>();
  leaving.set(ports.unit, gone);
  for (const address of gone) {
    if (tasks.alive.includes(address)) continue;
    gone.delete(address);
    await traffic.retire(address);
  }
  if (tasks.addresses.length === 0) return;
  const current = await traffic.current();
  const before = current?.addresses ?? [];
  if (sameSet(before, tasks.addresses)) return;
  const addresses = [...tasks.addresses].sort();
  await traffic.switchTo(
    { colour: "blue", release: release ?? current?.release ?? "swarm", addresses, gateway: tasks.gateway },
    log,
  );
  const added = addresses.filter((a) => !before.includes(a));
  const removed = before.filter((a) => !addresses.includes(a));
  for (const address of removed) gone.add(address);
  log.info(
    `traffic → ${addresses.join(", ")}${added.length ? ` (joined: ${added.join(", ")})` : ""}${removed.length ? ` (left: ${removed.join(", ")}, finishing what it has in flight)` : ""}`,
  );
}

/**
 * Keeps the rule on the serving tasks while `work` (the orchestrator's update, its rollback, or following one)
 * runs, and once more when it ends.
 */
export async function routingWhile<T>(
  ports: ServicePorts,
  log: StepLogger,
  work: Promise<T>,
  release?: string,
): Promise<T> {
  if (!ports.rollout?.serving || !ports.traffic) return work;
  let done = false;
  const loop = (async () => {
    while (!done) {
      await routeToTasks(ports, log, release).catch((error: unknown) =>
        log.warn(`could not re-point traffic at the tasks: ${(error as Error).message}`),
      );
      await new Promise((resolve) => setTimeout(resolve, DEPLOY_ROUTE_INTERVAL_MS));
    }
  })();
  try {
    return await work;
  } finally {
    done = true;
    await loop;
    await routeToTasks(ports, log, release).catch((error: unknown) =>
      log.warn(`could not re-point traffic at the tasks: ${(error as Error).message}`),
    );
  }
}

import { asGreenlightError } from "../../shared/errors.js";
import { markLive } from "../state/releases.js";
import type { Colour } from "../../shared/events.js";

type Live = { colour: Colour; release: string };
import { drainConnections } from "./drain.js";
import { addressesOf, openOn, pointsAt } from "./instances.js";
import { settleRollout } from "./rollout-reconcile.js";
import type { InstanceSummary, ServicePorts, TrafficSwitch } from "./ports.js";
import type { StepLogger } from "./step-logger.js";

/**
 * Brings the runtime, the traffic switch and the state file back into agreement after a crash at any step,
 * without ever breaking traffic: the colour the switch serves stays (or, if it is gone, the state's colour takes
 * over); a switch that lost its rule or points at an old address is re-pointed; leftovers of an interrupted
 * deploy are drained and removed; interrupted releases are recorded as such. It works from facts (what runs,
 * what the switch holds), so it needs no record of which step a crash interrupted.
 */
export async function reconcileService(ports: ServicePorts, log: StepLogger): Promise<void> {
  const { runtime, traffic, store } = ports;
  await settleRollout(ports, log);
  const state = await store.read();
  const instances = await runtime.list();
  // A worker takes no traffic, and a rolled service's rule follows its tasks (settleRollout): the state says.
  const live =
    traffic && !ports.rollout
      ? await agreeWithSwitch(ports, traffic, state.live, instances, log)
      : state.live;

  await recordInterrupted(ports, log);
  // A fence stands until no flow is bound to its address; a crash may have left one whose flows are gone.
  await traffic?.tidyFences();
  for (const instance of instances) {
    if (live && instance.colour === live.colour) {
      if (!instance.running) await restart(ports, instance, log);
      continue;
    }
    await removeLeftover(ports, instance, log);
  }
}

/**
 * The switch names another release than the state: a crash between switching and recording. Keep what the
 * switch names if that colour runs (it may already serve), else go back to the state's colour.
 */
async function agreeWithSwitch(
  ports: ServicePorts,
  traffic: TrafficSwitch,
  stateLive: Live | null | undefined,
  instances: InstanceSummary[],
  log: StepLogger,
): Promise<Live | null | undefined> {
  const { runtime, store } = ports;
  const current = await traffic.current();

  const live = stateLive;
  const candidates = [
    ...(current ? [{ colour: current.colour, release: current.release }] : []),
    ...(live ? [live] : []),
  ];
  for (const candidate of candidates) {
    const running = instances.some((i) => i.colour === candidate.colour && i.running)
      ? await runtime.find(candidate.colour)
      : [];
    if (running.length === 0) continue;
    const agrees = current?.colour === candidate.colour && current.release === candidate.release;
    const stateAgrees = live?.colour === candidate.colour && live.release === candidate.release;
    if (!agrees || !pointsAt(current, running) || (traffic.mode === "reload" && !stateAgrees)) {
      log.warn(
        `switch and state disagree after an interruption; sending new requests to ${candidate.colour}`,
      );
      await traffic.switchTo(
        { ...candidate, addresses: addressesOf(running), gateway: running[0]?.gateway ?? "" },
        log,
      );
    }
    if (!stateAgrees) await store.update((s) => markLive(s, candidate));
    return candidate;
  }
  return live;
}

/** Not the live colour: a leftover of an interrupted deploy. It may still finish requests from before a switch. */
async function removeLeftover(
  ports: ServicePorts,
  instance: InstanceSummary,
  log: StepLogger,
): Promise<void> {
  const { runtime, traffic, config } = ports;
  const running = instance.running
    ? (await runtime.find(instance.colour)).filter((found) => found.id === instance.id)
    : [];
  if (running.length > 0 && traffic) {
    await drainConnections(
      () => openOn(running, (found) => runtime.openConnections(found)),
      config.drain,
      (open) => log.info(`${open} request(s) still in flight on leftover ${instance.name}`),
    );
  }
  await runtime.remove(instance.id, config.stop_grace);
  for (const found of running) await traffic?.retire(found.address);
  log.info(`removed leftover ${instance.name}`);
}

async function restart(ports: ServicePorts, instance: InstanceSummary, log: StepLogger): Promise<void> {
  log.warn(`${instance.name} serves traffic but is not running; starting it`);
  await ports.runtime
    .restart(instance.id)
    .catch((e: unknown) => log.error(`could not start ${instance.name}: ${asGreenlightError(e).message}`));
}

async function recordInterrupted(ports: ServicePorts, log: StepLogger): Promise<void> {
  const interrupted = (await ports.store.read()).records.filter((r) => r.status === "in_progress");
  if (interrupted.length === 0) return;
  await ports.store.update((s) => {
    for (const r of s.records) {
      if (r.status !== "in_progress") continue;
      r.status = "interrupted";
      r.finishedAt ??= new Date().toISOString();
      r.error = { code: "INTERRUPTED", message: "the agent stopped before this deploy finished" };
    }
  });
  log.warn(
    `recorded ${interrupted.length} interrupted deploy(s): ${interrupted.map((r) => r.id).join(", ")}`,
  );
}

import assert from "node:assert/strict";
import { test } from "node:test";
import type {
  ServicePorts,
  ServingTasks,
  SwitchState,
  SwitchTarget,
  TrafficSwitch,
} from "../../agent/engine/ports.js";
import { StepLogger } from "../../agent/engine/step-logger.js";
import { routeToTasks, routingWhile } from "../../agent/engine/task-routing.js";

/**
 * A routed Swarm service on fakes: `tasks` is what Swarm reports, the switch records each rule it is given, and
 * `open` is how many requests each held task still has in flight.
 */
function fixture(unit: string, initial: ServingTasks) {
  let tasks = initial;
  let rule: SwitchState | undefined;
  const events: string[] = [];
  const open = new Map<string, number>();
  const traffic: TrafficSwitch = {
    mode: "nat",
    current: async () => rule,
    switchTo: async (target: SwitchTarget) => {
      rule = { colour: target.colour, release: target.release, addresses: target.addresses };
      events.push(`rule ${target.addresses.join(",")}`);
      return { confirmMs: 1 };
    },
    retire: async (address) => void events.push(`retire ${address}`),
    tidyFences: async () => undefined,
    remove: async () => undefined,
  };
  const ports = {
    unit,
    config: { drain: 2000, stop_signal: "SIGTERM" },
    traffic,
    rollout: {
      serving: async () => tasks,
      openConnections: async (id: string) => {
        const left = open.get(id) ?? 0;
        open.set(id, Math.max(0, left - 1));
        return left;
      },
      stopTask: async (id: string) => {
        // The rule must no longer name a task when it is stopped.
        const leaving = tasks.leaving.find((t) => t.id === id);
        events.push(
          `stop ${id}${leaving && rule?.addresses.includes(leaving.address) ? " (still routed!)" : ""}`,
        );
      },
    },
  } as unknown as ServicePorts;
  const log = new StepLogger((event) => events.push(`log ${event.message}`)).at("start");
  return {
    ports,
    log,
    events,
    open,
    set: (next: ServingTasks) => (tasks = next),
    rule: () => rule,
  };
}

/** Every task running and serving, none leaving. */
const up = (gateway: string, ...addresses: string[]): ServingTasks => ({
  addresses,
  alive: addresses,
  gateway,
  leaving: [],
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

test("the rule follows the serving tasks: a new one joins, a leaving one leaves, is drained, then stopped", async () => {
  const f = fixture("u1", up("10.0.0.1", ...["10.0.0.2:80"]));
  await routeToTasks(f.ports, f.log, "1");
  assert.deepEqual(f.rule()?.addresses, ["10.0.0.2:80"]);
  // Swarm starts a new task; once healthy it serves beside the old one.
  f.set(up("10.0.0.1", ...["10.0.0.2:80", "10.0.0.3:80"]));
  await routeToTasks(f.ports, f.log, "2");
  assert.deepEqual(f.rule()?.addresses, ["10.0.0.2:80", "10.0.0.3:80"]);
  // Swarm tells the old one to stop: it leaves the rule, finishes its 3 requests, then gets its signal.
  f.open.set("old", 3);
  f.set({
    addresses: ["10.0.0.3:80"],
    alive: ["10.0.0.2:80", "10.0.0.3:80"],
    gateway: "10.0.0.1",
    leaving: [{ id: "old", address: "10.0.0.2:80" }],
  });
  await routeToTasks(f.ports, f.log, "2");
  await settle();
  assert.deepEqual(f.rule()?.addresses, ["10.0.0.3:80"]);
  const order = f.events.filter((e) => e.startsWith("rule") || e.startsWith("stop"));
  assert.deepEqual(order, [
    "rule 10.0.0.2:80",
    "rule 10.0.0.2:80,10.0.0.3:80",
    "rule 10.0.0.3:80",
    "stop old",
  ]);
  assert.ok(
    f.events.some((e) => /task 10.0.0.2:80: \d request\(s\) still in flight/.test(e)),
    f.events.join("\n"),
  );
  assert.ok(f.events.some((e) => /task 10.0.0.2:80 drained in .*; sent SIGTERM/.test(e)));
  // Once its container is gone the address is retired (its fence and flows forgotten).
  f.set(up("10.0.0.1", ...["10.0.0.3:80"]));
  await routeToTasks(f.ports, f.log);
  assert.ok(f.events.includes("retire 10.0.0.2:80"));
});

test("no serving task leaves the rule as it is; a task leaving with no other to take over is stopped at once", async () => {
  const f = fixture("u2", up("10.0.1.1", ...["10.0.1.2:80"]));
  await routeToTasks(f.ports, f.log, "1");
  f.open.set("only", 5);
  f.set({
    addresses: [],
    alive: ["10.0.1.2:80"],
    gateway: "10.0.1.1",
    leaving: [{ id: "only", address: "10.0.1.2:80" }],
  });
  await routeToTasks(f.ports, f.log);
  await settle();
  assert.deepEqual(f.rule()?.addresses, ["10.0.1.2:80"], "never a rule to nothing");
  assert.ok(
    f.events.includes("stop only (still routed!)"),
    "stopped without a drain: nothing else could serve",
  );
  assert.equal(f.open.get("only"), 5, "no drain was waited for");
});

test("routing while the orchestrator works: re-read until it ends, once more after, and its failure passes through", async () => {
  const f = fixture("u3", up("10.0.2.1", ...["10.0.2.2:80"]));
  const work = new Promise<string>((resolve) =>
    setTimeout(() => {
      f.set(up("10.0.2.1", ...["10.0.2.3:80"]));
      resolve("converged");
    }, 500),
  );
  assert.equal(await routingWhile(f.ports, f.log, work, "2"), "converged");
  assert.deepEqual(f.rule()?.addresses, ["10.0.2.3:80"], "the last read, after the work ended");
  await assert.rejects(routingWhile(f.ports, f.log, Promise.reject(new Error("rolled back"))), /rolled back/);
});

test("drain_tasks: false (no hold): a leaving task still leaves the rule at once, and Swarm is left to stop it", async () => {
  const f = fixture("u4", up("10.0.3.1", "10.0.3.2:80", "10.0.3.3:80"));
  const rollout = f.ports.rollout as { stopTask?: unknown; openConnections?: unknown };
  delete rollout.stopTask;
  delete rollout.openConnections;
  await routeToTasks(f.ports, f.log, "1");
  f.set({
    addresses: ["10.0.3.3:80"],
    alive: ["10.0.3.2:80", "10.0.3.3:80"],
    gateway: "10.0.3.1",
    leaving: [{ id: "old", address: "10.0.3.2:80" }],
  });
  await routeToTasks(f.ports, f.log, "1");
  await settle();
  assert.deepEqual(f.rule()?.addresses, ["10.0.3.3:80"]);
  assert.ok(
    !f.events.some((e) => e.startsWith("stop") || /still in flight|drained|stopping it now/.test(e)),
    f.events.join("\n"),
  );
});

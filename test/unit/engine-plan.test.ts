import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../agent/engine/engine.js";
import { acquireServiceLock } from "../../agent/engine/lock.js";
import type { EventInput } from "../../agent/state/event-log.js";
import { fakeService, type FakeService } from "../fakes/world.js";

const V1 = "registry.example/web:v1";
const V2 = "registry.example/web:v2";

/** A service with release 1 live on blue, then a deploy of v2 that fails where the test says. */
async function deployFailingAt(failAt: string | undefined, options: { verify?: boolean } = {}) {
  const service: FakeService = await fakeService(options);
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.calls.length = 0;
  service.world.failAt = failAt;
  const events: EventInput[] = [];
  const result = await engine.deploy("web", V2, (event) => events.push(event));
  await engine.idle();
  const state = await service.compose(service.config, "web").store.read();
  return { ...service, engine, result, events, state };
}

// Where a deploy can fail, what must be undone, and what serves afterwards.
const MATRIX: {
  failAt: string;
  step: string;
  undo: string[];
  verify?: boolean;
  /** Traffic reached the new release before the failure: the result says it was rolled back. */
  rolledBack?: boolean;
}[] = [
  { failAt: "runtime.pull", step: "pull", undo: [] },
  { failAt: "runtime.start green", step: "start", undo: [] },
  { failAt: "runtime.exited green", step: "start", undo: ["runtime.remove green"] },
  { failAt: "readiness.wait", step: "health", undo: ["runtime.remove green"] },
  { failAt: "runtime.keepRunning green", step: "health", undo: ["runtime.remove green"] },
  // A switch that failed may have moved traffic: it is switched back to the old colour all the same.
  {
    failAt: "switch.to green",
    step: "switch",
    undo: ["switch.to blue", "runtime.remove green"],
  },
  {
    failAt: "proxy.verify",
    step: "verify",
    verify: true,
    undo: ["switch.to blue", "runtime.remove green"],
    rolledBack: true,
  },
  {
    failAt: "store.markLive",
    step: "record",
    undo: ["switch.to blue", "runtime.remove green"],
    rolledBack: true,
  },
];

for (const row of MATRIX) {
  test(`a failure at ${row.step} (${row.failAt}) is undone by ${row.undo.join(", ") || "nothing"}`, async () => {
    const { world, result, state, config } = await deployFailingAt(row.failAt, { verify: row.verify });
    assert.equal(result.status, row.rolledBack ? "rolled_back" : "failed");
    assert.equal(result.error?.step, row.step);
    const failedAt = world.calls.indexOf(row.failAt);
    assert.ok(failedAt >= 0, `${row.failAt} was called: ${world.calls.join(", ")}`);
    const after = world.calls.slice(failedAt + 1).filter((c) => !c.startsWith("switch.retire"));
    assert.deepEqual(after, row.undo, `calls after the failure: ${world.calls.join(", ")}`);
    const record = state.records.find((r) => r.id === result.release);
    assert.equal(world.current?.colour, "blue", "the old colour serves");
    assert.deepEqual(world.running(), ["blue"], "the old colour runs, the new one is gone");
    assert.equal(state.live?.release, "1");
    if (record) assert.equal(record.status, "failed");
    // The lock is free for the next deploy.
    const lock = await acquireServiceLock(config.state_dir, "web", "next", { timeoutMs: 100 });
    await lock.release();
  });
}

test("a deploy that fails nowhere: old colour drained, stopped and removed after the release is recorded", async () => {
  const { world, result, state } = await deployFailingAt(undefined, { verify: true });
  assert.equal(result.status, "succeeded");
  assert.deepEqual(
    world.calls.filter((c) => !c.startsWith("switch.retire")),
    [
      "runtime.pull",
      "runtime.start green",
      "runtime.exited green",
      "readiness.wait",
      "runtime.keepRunning green",
      "switch.to green",
      "proxy.verify",
      "runtime.stop blue",
      "runtime.remove blue",
    ],
  );
  assert.equal(state.live?.release, "2");
  assert.deepEqual(world.running(), ["green"]);
});

test("the result is out before the old colour stops; the next deploy waits until it is gone", async () => {
  const service = await fakeService();
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.calls.length = 0;
  let letStop = () => undefined as void;
  service.world.stopGate = new Promise<void>((resolve) => (letStop = resolve));
  const result = await engine.deploy("web", V2);
  assert.equal(result.status, "succeeded");
  assert.equal(service.world.current?.colour, "green", "traffic is on the new colour");
  assert.ok(service.world.calls.includes("runtime.stop blue"), "the old colour is stopping");
  assert.deepEqual(service.world.running(), ["blue", "green"], "and has not stopped yet");
  const events: EventInput[] = [];
  const next = engine.deploy("web", "registry.example/web:v3", (event) => events.push(event));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(
    events.some((e) => /waiting for deploy .* to finish/.test(e.message)),
    "the next deploy waits",
  );
  assert.ok(!service.world.calls.includes("runtime.start blue"), "and starts nothing yet");
  letStop();
  assert.equal((await next).status, "succeeded");
  await engine.idle();
  assert.deepEqual(service.world.running(), ["blue"]);
});

test("a stop that fails after the result changes no result; the release stays live and reconcile removes the rest", async () => {
  const service = await fakeService();
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.failAt = "runtime.stop blue";
  const events: EventInput[] = [];
  const result = await engine.deploy("web", V2, (event) => events.push(event));
  await engine.idle();
  assert.equal(result.status, "succeeded");
  assert.equal(service.world.current?.colour, "green");
  assert.ok(
    events.some((e) => e.level === "warn" && /stop did not finish .* reconcile will/.test(e.message)),
  );
  const state = await service.compose(service.config, "web").store.read();
  assert.equal(state.live?.release, "2");
  service.world.failAt = undefined;
  await engine.reconcile("web", () => undefined);
  assert.deepEqual(service.world.running(), ["green"], "reconcile removed the old colour");
});

test("a cancel while the new release starts undoes it: CANCELLED, the old colour serves, nothing recorded live", async () => {
  const service = await fakeService();
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.calls.length = 0;
  service.world.healthGate = new Promise<void>(() => undefined);
  const started = await engine.startDeploy("web", V2, { by: { key: "ci" } });
  while (!service.world.calls.includes("readiness.wait"))
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(engine.cancel("web", started.log.deployId, "ci"), true);
  const result = await started.done;
  assert.equal(result.status, "failed");
  assert.equal(result.error?.code, "CANCELLED");
  assert.equal(result.error?.step, "health");
  assert.match(result.error?.message ?? "", /cancelled by ci/);
  assert.deepEqual(service.world.calls.slice(-1), ["runtime.remove green"], service.world.calls.join(", "));
  assert.equal(service.world.current?.colour, "blue");
  assert.deepEqual(service.world.running(), ["blue"]);
  assert.equal((await service.compose(service.config, "web").store.read()).live?.release, "1");
  assert.equal(
    engine.cancel("web", started.log.deployId, "ci"),
    false,
    "an ended deploy cannot be cancelled",
  );
});

test("a cancel after the release went live undoes nothing and says so", async () => {
  const service = await fakeService();
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.stopGate = new Promise<void>(() => undefined);
  const events: EventInput[] = [];
  const started = await engine.startDeploy("web", V2, { by: { key: "ci" } });
  started.log.subscribe((entry) => {
    if (entry.type === "event") events.push(entry.event);
  });
  const result = await started.done;
  assert.equal(result.status, "succeeded");
  assert.equal(
    engine.cancel("web", started.log.deployId, "ci"),
    false,
    "its result is out: nothing to cancel",
  );
  assert.equal(service.world.current?.colour, "green");
});

test("the release command runs once, after the pull and before anything starts; failing, nothing starts", async () => {
  const service = await fakeService({ release: true });
  const engine = new Engine(service.config, service.compose);
  const events: EventInput[] = [];
  assert.equal((await engine.deploy("web", V1, (event) => events.push(event))).status, "succeeded");
  await engine.idle();
  const calls = service.world.calls;
  assert.deepEqual(calls.slice(0, 3), ["runtime.pull", "runtime.runOnce migrate", "runtime.start blue"]);
  assert.equal(calls.filter((c) => c.startsWith("runtime.runOnce")).length, 1);
  assert.ok(
    events.some((e) => e.step === "release" && e.source === "container" && e.message === "migrating"),
  );

  service.world.calls.length = 0;
  service.world.releaseExit = 3;
  const failed = await engine.deploy("web", V2);
  await engine.idle();
  assert.equal(failed.status, "failed");
  assert.equal(failed.error?.code, "RELEASE_COMMAND_FAILED");
  assert.equal(failed.error?.step, "release");
  assert.match(failed.error?.message ?? "", /exited with 3; nothing was switched/);
  assert.deepEqual(
    service.world.calls,
    ["runtime.pull", "runtime.runOnce migrate"],
    "nothing started or switched",
  );
  assert.equal(service.world.current?.colour, "blue");
  assert.deepEqual(service.world.running(), ["blue"]);
});

test("removing a service takes its instances, switch and proxy entries; refused while a deploy holds it", async () => {
  const service = await fakeService();
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.healthGate = new Promise<void>(() => undefined);
  // The first deploy's calls would end the wait below at once: only this deploy's count.
  service.world.calls.length = 0;
  const started = await engine.startDeploy("web", V2);
  while (!service.world.calls.includes("readiness.wait"))
    await new Promise((resolve) => setTimeout(resolve, 5));
  await assert.rejects(
    engine.removeService("web", () => undefined),
    (error: { code?: string }) => error.code === "DEPLOY_IN_PROGRESS",
  );
  engine.cancel("web", started.log.deployId, "test");
  await started.done;
  await engine.idle();
  service.world.calls.length = 0;
  await engine.removeService("web", () => undefined);
  assert.deepEqual(service.world.calls, ["runtime.remove blue", "switch.remove", "proxy.remove"]);
  assert.deepEqual(service.world.running(), []);
});

test("every step of a deploy is timed and each event names its step", async () => {
  const { result: reported, events, state } = await deployFailingAt(undefined);
  // The stop runs after the result: its time is in the history, not in the result that was reported.
  const durations: Partial<Record<string, number>> =
    state.records.find((r) => r.id === reported.release)?.durations ?? {};
  const result = { durations };
  for (const step of ["queue", "pull", "start", "health", "switch", "drain", "stop"] as const) {
    assert.equal(typeof result.durations[step], "number", step);
  }
  assert.ok(events.some((e) => e.step === "record" && /release 2 is live/.test(e.message)));
  assert.ok(events.some((e) => e.source === "container" && e.message === "app: listening"));
});

test("a Docker engine that does not answer is DOCKER_UNAVAILABLE, saying what to check", async () => {
  const { composeService } = await import("../../agent/compose.js");
  const { connectDocker } = await import("../../agent/docker-api/client.js");
  const service = await fakeService();
  const ports = composeService(service.config, connectDocker("/nonexistent/docker.sock"), "web");
  await assert.rejects(
    ports.runtime.pull("registry.example/web:v1", () => undefined),
    (error: Error) => {
      assert.equal((error as { code?: string }).code, "DOCKER_UNAVAILABLE");
      assert.match(
        error.message,
        /\/nonexistent\/docker\.sock does not answer \(ENOENT\): is dockerd running/,
      );
      return true;
    },
  );
  await assert.rejects(ports.runtime.list(), /DOCKER_UNAVAILABLE|does not answer/);
});

test("a worker: started, found settled, recorded, then the old one stops; nothing is switched or drained", async () => {
  const service = await fakeService({ worker: { overlap: true } });
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.calls.length = 0;
  const events: EventInput[] = [];
  const result = await engine.deploy("web", V2, (event) => events.push(event));
  await engine.idle();
  assert.equal(result.status, "succeeded");
  assert.deepEqual(service.world.calls, [
    "runtime.pull",
    "runtime.start green",
    "runtime.exited green",
    "readiness.wait",
    "runtime.keepRunning green",
    "runtime.stop blue",
    "runtime.remove blue",
  ]);
  assert.ok(events.some((e) => /ready once it has run 60ms without exiting/.test(e.message)));
  assert.deepEqual(service.world.running(), ["green"]);
});

test("a worker that exits while it settles fails the deploy; the old one never stopped", async () => {
  const service = await fakeService({ worker: { overlap: true } });
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.crashes = "green";
  service.world.calls.length = 0;
  const result = await engine.deploy("web", V2);
  await engine.idle();
  assert.equal(result.status, "failed");
  assert.equal(result.error?.code, "CONTAINER_EXITED");
  assert.match(result.error?.message ?? "", /a worker must keep running/);
  assert.ok(!service.world.calls.includes("runtime.stop blue"), service.world.calls.join(", "));
  assert.deepEqual(service.world.running(), ["blue"]);
  assert.equal((await service.compose(service.config, "web").store.read()).live?.release, "1");
});

test("overlap off: the old worker stops before the new one starts, and starts again when the new one fails", async () => {
  const service = await fakeService({ worker: { overlap: false } });
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  service.world.calls.length = 0;
  const events: EventInput[] = [];
  assert.equal((await engine.deploy("web", V2, (event) => events.push(event))).status, "succeeded");
  await engine.idle();
  assert.deepEqual(service.world.calls, [
    "runtime.pull",
    "runtime.stop blue",
    "runtime.start green",
    "runtime.exited green",
    "readiness.wait",
    "runtime.keepRunning green",
    "runtime.remove blue",
  ]);
  assert.ok(
    events.some((e) => /overlap is off: stopping web-blue before the new release starts/.test(e.message)),
  );

  service.world.crashes = "blue";
  service.world.calls.length = 0;
  const failed = await engine.deploy("web", "registry.example/web:v3");
  await engine.idle();
  assert.equal(failed.status, "failed");
  assert.deepEqual(service.world.calls.slice(0, 2), ["runtime.pull", "runtime.stop green"]);
  assert.deepEqual(service.world.calls.slice(-2), ["runtime.remove blue", "runtime.restart green"]);
  assert.deepEqual(service.world.running(), ["green"]);
});

test("logs: refused before anything is live; following, they carry on with the release a deploy makes live", async () => {
  const service = await fakeService();
  const engine = new Engine(service.config, service.compose);
  const lines: string[] = [];
  const sink = {
    line: (text: string) => lines.push(text),
    note: (text: string) => lines.push(`note: ${text}`),
  };
  const stop = new AbortController();
  await assert.rejects(
    engine.logs("web", { follow: false, signal: stop.signal }, sink),
    (error: { code?: string }) => error.code === "NOTHING_LIVE",
  );
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  assert.equal(
    await engine.logs("web", { follow: false, lines: 5, signal: stop.signal }, sink),
    "end of the log",
  );
  assert.deepEqual(lines, ["web-blue says hello"], "the terminal escape is gone");

  lines.length = 0;
  const following = engine.logs("web", { follow: true, signal: stop.signal }, sink);
  while (!service.world.readers.has("web-blue")) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await engine.deploy("web", V2)).status, "succeeded");
  await engine.idle();
  service.world.readers.get("web-blue")?.();
  while (!service.world.readers.has("web-green")) await new Promise((resolve) => setTimeout(resolve, 5));
  stop.abort();
  assert.equal(await following, "stopped by the client");
  assert.deepEqual(lines, [
    "web-blue says hello",
    "note: release 2 is live now: following web-green",
    "web-green says hello",
  ]);
  const reads = service.world.calls.filter((c) => c.startsWith("runtime.readOutput"));
  assert.deepEqual(reads.slice(-2), ["runtime.readOutput web-blue tail 100", "runtime.readOutput web-green"]);
});

test("replicas: every one of the new colour must be ready; one that never is fails the deploy and all of it goes", async () => {
  const service = await fakeService();
  service.world.replicas = 3;
  const engine = new Engine(service.config, service.compose);
  assert.equal((await engine.deploy("web", V1)).status, "succeeded");
  assert.deepEqual(service.world.running(), ["blue", "blue", "blue"]);
  assert.equal(service.world.current?.addresses.length, 3, "the switch spreads over the three");
  service.world.calls.length = 0;
  service.world.failAt = "readiness.wait";
  const failed = await engine.deploy("web", V2);
  await engine.idle();
  assert.equal(failed.status, "failed");
  assert.equal(failed.error?.step, "health");
  assert.equal(
    service.world.calls.filter((c) => c === "runtime.remove green").length,
    3,
    service.world.calls.join(", "),
  );
  assert.deepEqual(service.world.running(), ["blue", "blue", "blue"]);
  assert.equal(service.world.current?.colour, "blue");

  service.world.failAt = undefined;
  service.world.calls.length = 0;
  assert.equal((await engine.deploy("web", V2)).status, "succeeded");
  await engine.idle();
  assert.equal(
    service.world.calls.filter((c) => c === "runtime.stop blue").length,
    3,
    "every old replica stops",
  );
  assert.deepEqual(service.world.running(), ["green", "green", "green"]);
  assert.equal(service.world.current?.addresses.length, 3);
});

test("an orchestrated service (Swarm): the update is asked and followed; Swarm's own rollback is reported, a cancel reverts", async () => {
  const service = await fakeService({ rollout: true });
  const engine = new Engine(service.config, service.compose);
  const first = await engine.deploy("web", V1);
  assert.equal(first.status, "succeeded");
  assert.deepEqual(service.world.calls, ["runtime.pull", "rollout.roll"], "no colour is started or switched");
  assert.match(service.world.rolled ?? "", /@sha256:d{64}$/, "rolled to the digest");

  service.world.calls.length = 0;
  service.world.rolloutOutcome = {
    converged: false,
    newTasksRan: true,
    message: "update rolled back due to failure",
  };
  const failed = await engine.deploy("web", V2);
  assert.equal(failed.status, "rolled_back", "a new task ran before Swarm rolled back");
  assert.equal(failed.error?.code, "ROLLOUT_FAILED");
  assert.match(failed.error?.message ?? "", /update rolled back due to failure/);
  assert.deepEqual(
    service.world.calls,
    ["runtime.pull", "rollout.roll"],
    "Swarm undid it; nothing more to undo",
  );
  assert.equal((await service.compose(service.config, "web").store.read()).live?.release, "1");

  service.world.calls.length = 0;
  service.world.rolloutOutcome = { converged: true, newTasksRan: true };
  service.world.healthGate = new Promise<void>(() => undefined);
  const started = await engine.startDeploy("web", V2, { by: { key: "ci" } });
  while (!service.world.calls.includes("rollout.roll"))
    await new Promise((resolve) => setTimeout(resolve, 5));
  engine.cancel("web", started.log.deployId, "ci");
  const cancelled = await started.done;
  assert.equal(cancelled.error?.code, "CANCELLED");
  assert.deepEqual(service.world.calls.slice(-1), ["rollout.revert"]);
});

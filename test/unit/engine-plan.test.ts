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
  const state = await service.compose(service.config, "web").store.read();
  return { ...service, engine, result, events, state };
}

// Where a deploy can fail, what must be undone, and what serves afterwards.
const MATRIX: {
  failAt: string;
  step: string;
  undo: string[];
  verify?: boolean;
  /** After the commit (record): the new release stays live, nothing is switched back. */
  committed?: boolean;
}[] = [
  { failAt: "runtime.pull", step: "pull", undo: [] },
  { failAt: "runtime.start green", step: "start", undo: [] },
  { failAt: "runtime.exited green", step: "start", undo: ["runtime.remove green"] },
  { failAt: "readiness.wait", step: "health", undo: ["runtime.remove green"] },
  { failAt: "runtime.keepRunning green", step: "health", undo: ["runtime.remove green"] },
  // A switch that failed may have moved traffic: it is switched back to the old colour all the same.
  { failAt: "switch.to green", step: "switch", undo: ["switch.to blue", "runtime.remove green"] },
  {
    failAt: "proxy.verify",
    step: "verify",
    verify: true,
    undo: ["switch.to blue", "runtime.remove green"],
  },
  { failAt: "store.markLive", step: "record", undo: ["switch.to blue", "runtime.remove green"] },
  { failAt: "runtime.stop blue", step: "stop", undo: [], committed: true },
];

for (const row of MATRIX) {
  test(`a failure at ${row.step} (${row.failAt}) is undone by ${row.undo.join(", ") || "nothing"}`, async () => {
    const { world, result, state, config } = await deployFailingAt(row.failAt, { verify: row.verify });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.step, row.step);
    const failedAt = world.calls.indexOf(row.failAt);
    assert.ok(failedAt >= 0, `${row.failAt} was called: ${world.calls.join(", ")}`);
    const after = world.calls.slice(failedAt + 1).filter((c) => !c.startsWith("switch.retire"));
    assert.deepEqual(after, row.undo, `calls after the failure: ${world.calls.join(", ")}`);
    const record = state.records.find((r) => r.id === result.release);
    if (row.committed) {
      assert.equal(world.current?.colour, "green", "the recorded release keeps serving");
      assert.equal(state.live?.release, "2");
      assert.equal(record?.status, "live");
    } else {
      assert.equal(world.current?.colour, "blue", "the old colour serves");
      assert.deepEqual(world.running(), ["blue"], "the old colour runs, the new one is gone");
      assert.equal(state.live?.release, "1");
      if (record) assert.equal(record.status, "failed");
    }
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

test("every step of a deploy is timed and each event names its step", async () => {
  const { result, events } = await deployFailingAt(undefined);
  for (const step of ["queue", "pull", "start", "health", "switch", "drain", "stop"] as const) {
    assert.equal(typeof result.durations[step], "number", step);
  }
  assert.ok(events.some((e) => e.step === "record" && /release 2 is live/.test(e.message)));
  assert.ok(events.some((e) => e.source === "container" && e.message === "app: listening"));
});

test("a Docker engine that does not answer is DOCKER_UNAVAILABLE, saying what to check", async () => {
  const { composeService } = await import("../../agent/compose.js");
  const { connectDocker } = await import("../../agent/docker/client.js");
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

import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../agent/engine/engine.js";
import { authorize } from "../../agent/server/policy.js";
import type { EventInput } from "../../agent/state/event-log.js";
import type { RequestClaims } from "../../shared/protocol.js";
import { fakeApp } from "../fakes/world.js";

const V1 = "registry.example/web:v1";
const V2 = "registry.example/web:v2";

test("an app deploys its services in order from one pull, the release command once, and says how each ended", async () => {
  const app = await fakeApp();
  const engine = new Engine(app.config, app.compose);
  const events: EventInput[] = [];
  const result = await engine.deploy("shop", V1, (event) => events.push(event));
  await engine.idle();
  assert.equal(result.status, "succeeded", JSON.stringify(result));
  assert.equal(result.service, "shop");
  assert.deepEqual(result.services, [
    { service: "jobs", status: "succeeded", release: "1" },
    { service: "web", status: "succeeded", release: "1" },
  ]);
  const { web, jobs } = app.worlds;
  assert.deepEqual(
    web.calls.filter((c) => c.startsWith("runtime.runOnce")),
    ["runtime.runOnce migrate"],
  );
  assert.deepEqual(
    jobs.calls.filter((c) => c.startsWith("runtime.runOnce")),
    [],
  );
  const firstJobs = events.findIndex((e) => e.message.startsWith("jobs: "));
  const firstWeb = events.findIndex((e) => e.message.startsWith("web: "));
  assert.ok(firstJobs >= 0 && firstJobs < firstWeb, "jobs deploys before web");
  const release = events.findIndex((e) => e.step === "release");
  assert.ok(release >= 0 && release < firstJobs, "the release command runs before any service");
  assert.deepEqual(web.running(), ["blue"]);
  assert.deepEqual(jobs.running(), ["blue"]);
});

test("a service of an app that fails puts the ones already deployed back on their previous release", async () => {
  const app = await fakeApp();
  const engine = new Engine(app.config, app.compose);
  assert.equal((await engine.deploy("shop", V1)).status, "succeeded");
  app.worlds.web.failAt = "readiness.wait";
  const events: EventInput[] = [];
  const result = await engine.deploy("shop", V2, (event) => events.push(event));
  await engine.idle();
  assert.equal(result.status, "rolled_back");
  assert.equal(result.error?.code, "INTERNAL");
  assert.match(result.error?.message ?? "", /^web: /);
  assert.deepEqual(result.services, [
    { service: "jobs", status: "rolled_back", release: "3" },
    { service: "web", status: "failed", release: "2" },
  ]);
  assert.ok(events.some((e) => /putting jobs back on release 1, as a later service failed/.test(e.message)));
  const jobs = await app.compose(app.config, "jobs").store.read();
  assert.equal(jobs.live?.release, "3");
  assert.equal(jobs.records.find((r) => r.id === "3")?.kind, "rollback");
  assert.deepEqual(app.worlds.jobs.running(), ["blue"]);
  assert.deepEqual(app.worlds.web.running(), ["blue"]);
  assert.equal((await app.compose(app.config, "web").store.read()).live?.release, "1");
});

test("an app is authorised by its name or by every one of its services, and only for deploy and attach", async () => {
  const app = await fakeApp();
  const claims = (extra: Partial<RequestClaims>): RequestClaims => ({
    aud: "fake",
    nonce: "n".repeat(16),
    iat: 0,
    exp: 0,
    jti: "j".repeat(16),
    cmd: "deploy",
    service: "shop",
    image: V1,
    ...extra,
  });
  const key = (services?: string[]) => ({ name: "ci", services });
  authorize(claims({}), key(), app.config);
  authorize(claims({}), key(["shop"]), app.config);
  authorize(claims({}), key(["web", "jobs"]), app.config);
  assert.throws(
    () => authorize(claims({}), key(["web"]), app.config),
    /POLICY_SERVICE_NOT_ALLOWED|may not act on app shop \(jobs, web\)/,
  );
  assert.throws(
    () => authorize(claims({ cmd: "rollback" }), key(), app.config),
    /shop is an app: rollback acts on one service; name one of jobs, web/,
  );
});

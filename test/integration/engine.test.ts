import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FULL_LOAD, STANDARD_LOAD, describeLoad, startLoad } from "../helpers/load.js";
import { Site, type SiteOptions, useSites } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
const sites = useSites();

async function site(options: Omit<SiteOptions, "registry"> = {}): Promise<Site> {
  const created = await Site.start({ registry: stack.registry.host, ...options });
  sites.push(created);
  return created;
}

describe("deploy engine under load (real Docker, nginx, registry)", () => {
  test("v1 → v2 → v3 with GETs, POSTs and 1 s / 5 s requests fails no request", async () => {
    const web = await site();
    assert.equal((await web.deploy(await stack.image({ version: "v1" }))).result?.status, "succeeded");
    const load = await startLoad(web.nginx.url, FULL_LOAD);
    const v2 = await web.deploy(await stack.image({ version: "v2" }));
    assert.equal(v2.result?.status, "succeeded", v2.stdout);
    assert.equal(await web.servedVersion(), "v2");
    const v3 = await web.deploy(await stack.image({ version: "v3" }));
    assert.equal(v3.result?.status, "succeeded", v3.stdout);
    const report = await load.stop();
    assert.equal(report.failed, 0, describeLoad(report));
    assert.ok(
      report.streams.every((s) => s.requests > 0),
      describeLoad(report),
    );
    assert.equal(await web.servedVersion(), "v3");
    assert.deepEqual(await web.containers(), [`${web.service}-blue:running`]);
    const history = await web.history();
    assert.deepEqual(
      history.map((r) => r.status),
      ["retired", "retired", "live"],
    );
  });

  test("a never-healthy release leaves the old one serving and fails no request", async () => {
    const web = await site({ health: { timeout: "3s" } });
    await web.deploy(await stack.image({ version: "v1" }));
    const before = await web.snapshot();
    const load = await startLoad(web.nginx.url, FULL_LOAD);
    const run = await web.deploy(await stack.image({ version: "v2-sick", health: "fail" }));
    const report = await load.stop();
    assert.equal(run.code, 1);
    assert.equal(run.result?.status, "failed");
    assert.equal(run.result?.error?.code, "HEALTH_TIMEOUT");
    assert.equal(run.result?.error?.step, "health");
    assert.equal(await web.servedVersion(), "v1");
    assert.equal(await web.snapshot(), before);
    assert.equal(report.failed, 0, describeLoad(report));
    const last = (await web.history()).at(-1);
    assert.equal(last?.status, "failed");
    assert.equal(last?.error?.code, "HEALTH_TIMEOUT");
  });

  test("a release that crashes on start is reported with its log and changes nothing", async () => {
    const web = await site();
    await web.deploy(await stack.image({ version: "v1" }));
    const before = await web.snapshot();
    const load = await startLoad(web.nginx.url, STANDARD_LOAD);
    const run = await web.deploy(await stack.image({ version: "v2-crash", crash: true }));
    const report = await load.stop();
    assert.equal(run.result?.error?.code, "CONTAINER_EXITED");
    assert.ok(
      run.events.some((e) => e.source === "container" && e.message.includes("crashing on start")),
      "the container's own last words reach the deploy log",
    );
    assert.equal(await web.snapshot(), before);
    assert.equal(await web.servedVersion(), "v1");
    assert.equal(report.failed, 0, describeLoad(report));
    assert.equal((await web.history()).at(-1)?.error?.code, "CONTAINER_EXITED");
  });

  test("nginx -t failing restores the previous upstream file and keeps the old release serving", async () => {
    const web = await site({ extra: { switch: { mode: "reload" } } });
    await web.deploy(await stack.image({ version: "v1" }));
    await writeFile(join(web.nginx.dir, "conf.d", "broken.conf"), "this is not nginx;\n");
    const before = await web.snapshot();
    const load = await startLoad(web.nginx.url, STANDARD_LOAD);
    const run = await web.deploy(await stack.image({ version: "v2" }));
    const report = await load.stop();
    assert.equal(run.result?.error?.code, "NGINX_CONFIG_INVALID");
    assert.equal(run.result?.error?.step, "switch");
    assert.equal(await web.snapshot(), before);
    assert.equal(await web.servedVersion(), "v1");
    assert.equal(report.failed, 0, describeLoad(report));
  });

  test("rollback under load returns to the previous release and fails no request", async () => {
    const web = await site();
    const v1 = await web.deploy(await stack.image({ version: "v1" }));
    await web.deploy(await stack.image({ version: "v2" }));
    const load = await startLoad(web.nginx.url, FULL_LOAD);
    const run = await web.rollback();
    const report = await load.stop();
    assert.equal(run.result?.status, "succeeded", run.stdout);
    assert.equal(run.result?.digest, v1.result?.digest);
    assert.equal(await web.servedVersion(), "v1");
    assert.equal(report.failed, 0, describeLoad(report));
    const history = await web.history();
    assert.equal(history.at(-1)?.status, "live");
  });

  test("rollback to a named release by id", async () => {
    const web = await site();
    await web.deploy(await stack.image({ version: "v1" }));
    await web.deploy(await stack.image({ version: "v2" }));
    await web.deploy(await stack.image({ version: "v3" }));
    const run = await web.rollback("1");
    assert.equal(run.result?.status, "succeeded", run.stdout);
    assert.equal(await web.servedVersion(), "v1");
    const missing = await web.rollback("99");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NO_RELEASE_TO_ROLL_BACK/);
  });

  test("an unreachable registry or a missing image fails clearly and changes nothing", async () => {
    const web = await site();
    await web.deploy(await stack.image({ version: "v1" }));
    const before = await web.snapshot();
    const missing = await web.deploy(`${stack.registry.host}/testapp:no-such-tag`);
    assert.equal(missing.result?.error?.code, "IMAGE_NOT_FOUND");
    assert.equal(missing.result?.error?.step, "pull");
    const v9 = await stack.image({ version: "v9" });
    await stack.registry.pause();
    try {
      const down = await web.deploy(v9);
      assert.equal(down.result?.error?.code, "REGISTRY_UNREACHABLE", down.stdout);
    } finally {
      await stack.registry.resume();
    }
    assert.equal(await web.snapshot(), before);
    assert.equal(await web.servedVersion(), "v1");
  });

  test("an image outside the service's repository is refused before anything happens", async () => {
    const web = await site();
    await web.deploy(await stack.image({ version: "v1" }));
    const before = await web.snapshot();
    const run = await web.deploy(`${stack.registry.host}/other:v1`);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /POLICY_IMAGE_NOT_ALLOWED/);
    assert.equal(await web.snapshot(), before);
    assert.equal((await web.history()).length, 1);
  });

  test("two deploys of one service at once are serialized and both recorded", async () => {
    const web = await site();
    await web.deploy(await stack.image({ version: "v1" }));
    const [v2, v3] = [await stack.image({ version: "v2" }), await stack.image({ version: "v3" })];
    const load = await startLoad(web.nginx.url, STANDARD_LOAD);
    const first = web.spawnAgent(["deploy", "--service", web.service, "--image", v2]);
    const second = web.spawnAgent(["deploy", "--service", web.service, "--image", v3]);
    const [a, b] = await Promise.all([first.done, second.done]);
    const report = await load.stop();
    assert.equal(a.result?.status, "succeeded", a.stdout);
    assert.equal(b.result?.status, "succeeded", b.stdout);
    const waited = [a, b].filter((r) => r.events.some((e) => e.message.startsWith("waiting for deploy")));
    assert.equal(waited.length, 1, "exactly one of them waited for the other");
    assert.equal((await web.history()).filter((r) => r.status !== "failed").length, 3);
    assert.equal(report.failed, 0, describeLoad(report));
    assert.equal((await web.containers()).length, 1);
  });
});

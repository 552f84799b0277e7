import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Site, useSites } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
const sites = useSites();

/** A worker that notes when it starts and stops in a shared volume, and crashes a second in when told to. */
const WORKER = [
  "sh",
  "-c",
  [
    'echo "worker $APP_VERSION up"',
    'if [ "$CRASH" = 1 ]; then sleep 1; echo "worker $APP_VERSION crashing" >&2; exit 3; fi',
    'echo "start $APP_VERSION" >> /data/log',
    "trap 'echo \"stop $APP_VERSION\" >> /data/log; exit 0' TERM",
    "while true; do sleep 0.2; done",
  ].join("; "),
];

async function workerSite(overlap: boolean): Promise<{ site: Site; log: () => Promise<string[]> }> {
  const site = await Site.start({ registry: stack.registry.host, worker: true });
  sites.push(site);
  const data = join(site.dir, "data");
  await mkdir(data);
  await site.configure({ command: WORKER, volumes: [`${data}:/data`], ready_after: "2s", overlap });
  return {
    site,
    log: async () => (await readFile(join(data, "log"), "utf8").catch(() => "")).split("\n").filter(Boolean),
  };
}

test("a worker with overlap: the new one starts and settles, then the old one stops; a crashing one fails the deploy", async () => {
  const { site, log } = await workerSite(true);
  const v1 = await site.deploy(await stack.image({ version: "w1" }));
  assert.equal(v1.result?.status, "succeeded", v1.stdout + v1.stderr);
  assert.ok(v1.events.some((e) => /ready once it has run 2.00s without exiting/.test(e.message)));
  assert.ok(v1.events.some((e) => e.source === "container" && e.message === "worker w1 up"));
  assert.ok(!v1.events.some((e) => e.step === "switch" || e.step === "drain"), "nothing switched");
  const v2 = await site.deploy(await stack.image({ version: "w2" }));
  assert.equal(v2.result?.status, "succeeded", v2.stdout + v2.stderr);
  assert.deepEqual(await log(), ["start w1", "start w2", "stop w1"]);
  assert.deepEqual(await site.containers(), [`${site.unit}-green:running`]);

  const bad = await site.deploy(await stack.image({ version: "w3", crash: true }));
  assert.equal(bad.result?.status, "failed");
  assert.equal(bad.result?.error?.code, "CONTAINER_EXITED");
  assert.match(bad.result?.error?.message ?? "", /exited \(code 3\) .* a worker must keep running/);
  assert.ok(bad.events.some((e) => e.source === "container" && /worker w3 crashing/.test(e.message)));
  assert.deepEqual(await log(), ["start w1", "start w2", "stop w1"], "the running worker was left alone");
  assert.deepEqual(await site.containers(), [`${site.unit}-green:running`]);
});

test("a worker without overlap: the old one stops before the new one starts, and starts again if the new one fails", async () => {
  const { site, log } = await workerSite(false);
  assert.equal((await site.deploy(await stack.image({ version: "w1" }))).result?.status, "succeeded");
  const v2 = await site.deploy(await stack.image({ version: "w2" }));
  assert.equal(v2.result?.status, "succeeded", v2.stdout + v2.stderr);
  assert.ok(
    v2.events.some((e) => /overlap is off: stopping .* before the new release starts/.test(e.message)),
  );
  assert.deepEqual(await log(), ["start w1", "stop w1", "start w2"]);

  const bad = await site.deploy(await stack.image({ version: "w3", crash: true }));
  assert.equal(bad.result?.status, "failed");
  assert.deepEqual(await log(), ["start w1", "stop w1", "start w2", "stop w2", "start w2"]);
  assert.deepEqual(await site.containers(), [`${site.unit}-green:running`]);
  const history = await site.history();
  assert.deepEqual(
    history.map((r) => r.status),
    ["retired", "live", "failed"],
  );
});

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { describeLoad, startLoad, type LoadStream } from "../helpers/load.js";
import { Site, useSites } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
const sites = useSites();

const LOAD: LoadStream[] = [
  { name: "paced keep-alive", path: "/cgi-bin/v", connections: 30, pauseMs: 100 },
  { name: "1s requests", path: "/cgi-bin/slow?1", connections: 4, timeoutSeconds: 15 },
];

/** Which containers answer new connections through nginx: the replicas that take traffic. */
async function answering(site: Site, requests = 45): Promise<Set<string>> {
  const hosts = new Set<string>();
  for (let i = 0; i < requests; i += 1) {
    const response = await fetch(`${site.nginx.url}/cgi-bin/host`, { headers: { connection: "close" } });
    hosts.add((await response.text()).trim());
  }
  return hosts;
}

test("replicas: 3 per colour in NAT mode, traffic spread over all three, 0 failed requests over 4 deploys under load", async () => {
  const web = await Site.start({ registry: stack.registry.host, extra: { replicas: 3 } });
  sites.push(web);
  const images = [await stack.image({ version: "v1" }), await stack.image({ version: "v2" })];
  const first = await web.deploy(images[0] ?? "");
  assert.equal(first.result?.status, "succeeded", first.stdout + first.stderr);
  assert.deepEqual(await web.containers(), [
    `${web.unit}-blue-2:running`,
    `${web.unit}-blue-3:running`,
    `${web.unit}-blue:running`,
  ]);
  assert.equal((await answering(web)).size, 3, "each replica takes new connections");
  const load = await startLoad(web.nginx.url, LOAD);
  for (let i = 1; i <= 4; i += 1) {
    const run = await web.deploy(images[i % 2] ?? "");
    assert.equal(run.result?.status, "succeeded", run.stdout + run.stderr);
  }
  const report = await load.stop();
  assert.equal(report.failed, 0, describeLoad(report));
  assert.ok(
    report.streams.every((s) => s.requests > 0),
    describeLoad(report),
  );
  assert.equal((await web.containers()).length, 3, "the old colour's replicas are all gone");
  assert.equal((await answering(web)).size, 3);
});

test("replicas in reload mode: the upstream lists each of the live colour's replicas", async () => {
  const web = await Site.start({
    registry: stack.registry.host,
    extra: { replicas: 2, switch: { mode: "reload" } },
  });
  sites.push(web);
  const run = await web.deploy(await stack.image({ version: "v1" }));
  assert.equal(run.result?.status, "succeeded", run.stdout + run.stderr);
  const upstream = await readFile(web.nginx.upstreamFile, "utf8");
  assert.equal(upstream.match(/^\s*server /gm)?.length, 2, upstream);
  assert.equal((await answering(web, 20)).size, 2);
});

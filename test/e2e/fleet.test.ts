import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { runClient, type ClientRun } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { startLoad, STANDARD_LOAD, type LoadReport } from "../helpers/load.js";
import { freePort } from "../helpers/ports.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

// Three "servers" on loopback: each its own agent, state dir, nginx and containers, one service name.
const stack = useStack();
const SERVICE = "shop";
const sites: Site[] = [];
const agents: RunningAgent[] = [];
let keys: Keys;
let v1: string;
let v2: string;

before(async () => {
  await stack.ready;
  for (let i = 1; i <= 3; i += 1) {
    sites.push(
      await Site.start({
        registry: stack.registry.host,
        service: SERVICE,
        agentId: `web-${i}`,
        // Agents sharing one host need stable ports of their own (on real servers each has the host to itself).
        extra: { switch: { port: 18100 + i } },
      }),
    );
  }
  keys = await makeKeys(sites[0]?.dir ?? "", "ci");
  for (const site of sites) {
    agents.push(await startDaemon(site, [{ name: "ci", public_key: keys.publicPem }]));
  }
  [v1, v2] = await Promise.all([stack.image({ version: "v1" }), stack.image({ version: "v2" })]);
  const first = await fleet(["deploy", "--image", v1]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
});

after(async () => {
  for (const agent of agents) await agent.stop();
  for (const site of sites) await site.stop();
});

function fleet(args: string[], urls = agents.map((a) => a.target)): Promise<ClientRun> {
  return runClient([...args, "--service", SERVICE, "--json", ...urls.flatMap((url) => ["--agent", url])], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
}

interface FleetLine {
  type: string;
  host?: string;
  exit?: number;
  hosts?: { host: string; status: string; revert?: { status: string } }[];
}

const report = (run: ClientRun) => run.lines.find((l) => l.type === "fleet") as FleetLine | undefined;
const versions = () => Promise.all(sites.map((site) => site.servedVersion()));
const hostOf = (i: number) => `127.0.0.1:${new URL(agents[i]?.url ?? "").port}`;

async function underLoad<T>(work: () => Promise<T>): Promise<{ value: T; loads: LoadReport[] }> {
  const light = STANDARD_LOAD.map((s) => ({ ...s, connections: Math.max(1, Math.floor(s.connections / 2)) }));
  const loads = await Promise.all(sites.map((site) => startLoad(site.nginx.url, light)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const value = await work();
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { value, loads: await Promise.all(loads.map((load) => load.stop())) };
}

test("3 hosts, rolling batch 1: all succeed in order, no failed request on any host", async () => {
  const { value: run, loads } = await underLoad(() => fleet(["deploy", "--image", v2]));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(
    report(run)?.hosts?.map((h) => h.status),
    ["succeeded", "succeeded", "succeeded"],
  );
  // In order: each host's result comes before the next host's deploy is accepted.
  const sequence = run.lines
    .filter((l) => l.type === "accepted" || l.type === "result")
    .map((l) => `${String(l.type)}:${String(l.host)}`);
  assert.deepEqual(
    sequence,
    [0, 1, 2].flatMap((i) => [`accepted:${hostOf(i)}`, `result:${hostOf(i)}`]),
  );
  assert.deepEqual(await versions(), ["v2", "v2", "v2"]);
  for (const load of loads) {
    assert.ok(load.requests > 50, `load ran (${load.requests} requests)`);
    assert.equal(load.failed, 0, JSON.stringify(load.streams));
  }
});

test("3 hosts, the second unhealthy: the first is rolled back, the third never touched, exit 1", async (t) => {
  // The second server's copy of the service cannot become healthy (as a bad env file would do).
  const second = sites[1] as Site;
  const config = structuredClone(second.config) as { services: Record<string, Record<string, unknown>> };
  const service = config.services[SERVICE] as Record<string, unknown>;
  service.env = { GREETING: "hello", HEALTH: "fail" };
  service.health = { path: "/cgi-bin/health", interval: "100ms", timeout: "2s" };
  await writeFile(second.configFile, stringify({ ...readRunningConfig(second), services: config.services }));
  assert.match((await agents[1]?.reload()) ?? "", /config reloaded/);
  t.after(async () => {
    // Healthy again for the tests after this one.
    await writeFile(second.configFile, stringify(readRunningConfig(second)));
    assert.match((await agents[1]?.reload()) ?? "", /config reloaded/);
  });

  const thirdBefore = (await sites[2]?.state())?.records.length;
  const { value: run, loads } = await underLoad(() => fleet(["deploy", "--image", v1]));
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const hosts = report(run)?.hosts ?? [];
  assert.deepEqual(
    hosts.map((h) => h.status),
    ["reverted", "failed", "not_started"],
  );
  assert.equal(hosts[0]?.revert?.status, "succeeded");
  assert.deepEqual(await versions(), ["v2", "v2", "v2"]);
  assert.equal((await sites[2]?.state())?.records.length, thirdBefore, "the third host saw no request");
  for (const load of loads) assert.equal(load.failed, 0, JSON.stringify(load.streams));
});

test("a host unreachable: reported by name, nothing started on any host, exit 4", async () => {
  const dead = await freePort();
  const counts = await Promise.all(sites.map(async (s) => (await s.state()).records.length));
  const urls = [agents[0]?.target ?? "", `ws://127.0.0.1:${dead}`, agents[2]?.target ?? ""];
  const run = await fleet(["deploy", "--image", v2, "--timeout", "20s"], urls);
  assert.equal(run.code, 4, run.stdout + run.stderr);
  const hosts = report(run)?.hosts ?? [];
  assert.deepEqual(
    hosts.map((h) => h.status),
    ["not_started", "unreachable", "not_started"],
  );
  assert.match(run.stdout, new RegExp(`preflight failed on 127.0.0.1:${dead}`));
  assert.deepEqual(await Promise.all(sites.map(async (s) => (await s.state()).records.length)), counts);
});

test("parallel: every host deploys at once, each result reported", async () => {
  const run = await fleet(["deploy", "--image", v1, "--strategy", "parallel"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(await versions(), ["v1", "v1", "v1"]);
  assert.equal(run.lines.filter((l) => l.type === "result").length, 3);
});

function readRunningConfig(site: Site): Record<string, unknown> {
  // startDaemon wrote the site config plus listen and trust; keep those.
  return {
    ...site.config,
    listen: "127.0.0.1:0",
    trust: { keys: [{ name: "ci", public_key: keys.publicPem }] },
  };
}

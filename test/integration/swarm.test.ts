import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon } from "../helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../helpers/load.js";
import { docker, run } from "../helpers/run.js";
import { serviceChain } from "../../agent/switch/nat/iptables.js";
import { Site, type AgentRun } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { withHealthcheck } from "../fixtures/test-app.js";

const stack = useStack();
let site: Site;
let routed: Site;
let joined = false;
let beforeSwarm: AgentRun | undefined;
const publish = 30000 + Math.floor(Math.random() * 5000);

/**
 * The version each running task of the service answers, asked inside the task. Swarm's routing mesh needs IPVS,
 * which this machine's kernel does not have (dockerd: "Could not get ipvs family information from the kernel"),
 * so the published port does not answer here; the tasks themselves do.
 */
async function taskVersions(unit: string): Promise<string[]> {
  const listed = await docker(
    "ps",
    "--filter",
    `label=com.docker.swarm.service.name=${unit}`,
    "--format",
    "{{.ID}}",
  );
  const ids = listed.split("\n").filter(Boolean);
  const versions = await Promise.all(
    ids.map((id) => docker("exec", id, "wget", "-qO-", "http://127.0.0.1:8080/cgi-bin/v").catch(() => "?")),
  );
  return versions.map((v) => v.trim()).sort();
}

async function containerIds(unit: string): Promise<string[]> {
  return (await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${unit}`))
    .split("\n")
    .filter(Boolean);
}

/** `ip:8080` of each running task of the service, on its routed network. */
async function taskAddresses(unit: string): Promise<string[]> {
  const ids = await containerIds(unit);
  const addresses = await Promise.all(
    ids.map((id) =>
      docker(
        "inspect",
        id,
        "--format",
        `{{(index .NetworkSettings.Networks "greenlight-${unit}").IPAddress}}`,
        // Gone between the listing and the inspect: not running any more.
      ).catch(() => ""),
    ),
  );
  return addresses
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => `${a}:8080`)
    .sort();
}

before(async () => {
  await stack.ready;
  // A single-node Swarm on the test engine, left again afterwards so the other tests see a plain engine.
  site = await Site.start({ registry: stack.registry.host, swarm: { publish }, extra: { replicas: 2 } });
  routed = await Site.start({ registry: stack.registry.host, swarm: {}, extra: { replicas: 2 } });
  const state = (await docker("info", "--format", "{{.Swarm.LocalNodeState}}")).trim();
  if (state !== "active") {
    // First, what a deploy says on an engine that is no Swarm manager.
    beforeSwarm = await routed.deploy(await stack.image({ version: "rt0" }));
    await docker("swarm", "init", "--advertise-addr", "127.0.0.1");
    joined = true;
  }
});

test("on an engine that is no Swarm manager, a Swarm service's deploy fails clearly and changes nothing", async (t) => {
  if (!joined) return t.skip("this engine was already in a swarm before the tests");
  assert.equal(beforeSwarm?.result?.error?.code, "DOCKER_UNAVAILABLE", beforeSwarm?.stdout);
  assert.match(beforeSwarm?.result?.error?.message ?? "", /not a Swarm manager.*run the agent on a manager/);
  // Refused before a release was even recorded: no service, no network, no history.
  assert.deepEqual(await routed.history(), []);
  assert.ok(!(await docker("network", "ls", "--format", "{{.Name}}")).includes(`greenlight-${routed.unit}`));
});

after(async () => {
  for (const each of [site, routed]) {
    await docker("service", "rm", each?.unit ?? "none").catch(() => undefined);
    await each?.stop();
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  for (const network of [`greenlight-${routed?.unit}`, `greenlight-${routed?.unit}-addresses`])
    await docker("network", "rm", network).catch(() => undefined);
  if (joined) await docker("swarm", "leave", "--force");
});

test("a Swarm service: created, then updated start-first v1 → v2 → v3, Swarm's progress streamed task by task", async () => {
  const images: string[] = [];
  for (const version of ["sw1", "sw2", "sw3"])
    images.push(await withHealthcheck(await stack.image({ version }), `${version}-checked`));
  const first = await site.deploy(images[0] ?? "");
  assert.equal(first.result?.status, "succeeded", first.stdout + first.stderr);
  assert.ok(first.events.some((e) => /created Swarm service .* \(2 task\(s\)\)/.test(e.message)));
  assert.deepEqual(await taskVersions(site.unit), ["sw1", "sw1"]);
  for (const [index, image] of images.slice(1).entries()) {
    const next = await site.deploy(image);
    assert.equal(next.result?.status, "succeeded", next.stdout + next.stderr);
    assert.ok(next.events.some((e) => /updating Swarm service .*: start-first, 1 at a time/.test(e.message)));
    assert.ok(
      next.events.some((e) => /new task \S+\.\d+ on \S+: running/.test(e.message)),
      "each new task, per node",
    );
    assert.ok(
      next.events.some((e) => /old task \S+ on \S+: shutdown/.test(e.message)),
      next.events.map((e) => e.message).join("\n"),
    );
    const version = `sw${index + 2}`;
    assert.deepEqual(await taskVersions(site.unit), [version, version]);
  }
  const upstream = await readFile(site.nginx.upstreamFile, "utf8");
  assert.ok(
    upstream.includes(`server 127.0.0.1:${publish} `),
    `nginx proxies to the published port: ${upstream}`,
  );
});

test("a release that never becomes healthy: Swarm rolls it back, greenlight reports it, the old release runs", async () => {
  const sick = await withHealthcheck(await stack.image({ version: "sw4", health: "fail" }), "sw4-checked");
  const failed = await site.deploy(sick);
  assert.notEqual(failed.result?.status, "succeeded", failed.stdout);
  assert.equal(failed.result?.error?.code, "ROLLOUT_FAILED", JSON.stringify(failed.result));
  assert.match(failed.result?.error?.message ?? "", /Swarm did not complete the update .* it rolled back/);
  assert.deepEqual(await taskVersions(site.unit), ["sw3", "sw3"]);
  assert.equal((await site.history()).at(-1)?.status, "failed");
});

test("rollback by release id: Swarm updates back to that release's digest", async () => {
  const back = await site.rollback("1");
  assert.equal(back.result?.status, "succeeded", back.stdout + back.stderr);
  assert.deepEqual(await taskVersions(site.unit), ["sw1", "sw1"]);
  const image = await docker(
    "service",
    "inspect",
    site.unit,
    "--format",
    "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
  );
  const digest = (await site.history()).find((r) => r.id === "1")?.digest ?? "none";
  assert.ok(image.trim().endsWith(digest), `${image.trim()} runs release 1's digest ${digest}`);
});

test("the agent killed while Swarm updates: Swarm carries on, the restarted agent follows it and records the release", async () => {
  const slow = await withHealthcheck(
    await stack.image({ version: "sw5", startDelay: 8 }),
    "sw5-checked",
    "30s",
  );
  const { done } = site.spawnAgent(["deploy", "--service", site.service, "--image", slow], (event, child) => {
    if (/updating Swarm service/.test(event.message)) child.kill("SIGKILL");
  });
  const killed = await done;
  assert.equal(killed.result, undefined, "no result: the agent died mid-update");
  const reconciled = await site.reconcile();
  assert.equal(reconciled.code, 0, reconciled.stdout + reconciled.stderr);
  assert.ok(
    reconciled.events.some((e) => /Swarm was updating .* following the update to its end/.test(e.message)),
    reconciled.stdout,
  );
  assert.ok(
    reconciled.events.some((e) => /release \d+ is live: Swarm completed the update/.test(e.message)),
    reconciled.events.map((e) => e.message).join("\n"),
  );
  assert.deepEqual(await taskVersions(site.unit), ["sw5", "sw5"]);
  const last = (await site.history()).at(-1);
  assert.equal(last?.status, "live");
});

test("routed by greenlight's NAT rule: v1 → a release Swarm rolls back → v2 → v3 → rollback to v2 under load through nginx, each task drained before it stops, no request failed", async () => {
  const images: string[] = [];
  for (const version of ["rt1", "rt2", "rt3"])
    images.push(await withHealthcheck(await stack.image({ version }), `${version}-checked`));
  const sick = await withHealthcheck(await stack.image({ version: "rt4", health: "fail" }), "rt4-checked");
  const first = await routed.deploy(images[0] ?? "");
  assert.equal(first.result?.status, "succeeded", first.stdout + first.stderr);
  assert.ok(
    first.events.some((e) => /pointed the proxy at the stable address/.test(e.message)),
    first.events.map((e) => e.message).join("\n"),
  );
  const load = await startLoad(routed.nginx.url, FULL_LOAD);
  const started = Date.now();
  const refused = await routed.deploy(sick);
  assert.equal(refused.result?.error?.code, "ROLLOUT_FAILED", refused.stdout + refused.stderr);
  // The sick task never joined the rule, and its stop was not held back for a drain it did not need.
  assert.ok(!refused.events.some((e) => /joined/.test(e.message)), refused.stdout);
  assert.ok(Date.now() - started < 40_000, `Swarm's rollback took ${Date.now() - started} ms`);
  for (const image of images.slice(1)) {
    const next = await routed.deploy(image);
    assert.equal(next.result?.status, "succeeded", next.stdout + next.stderr);
    const said = next.events.map((e) => e.message).join("\n");
    assert.match(said, /traffic → .*\(joined: /, "a new task joins the rule once Swarm counts it healthy");
    assert.match(said, /\(left: .*finishing what it has in flight\)/, "an old task leaves it");
    assert.match(said, /task \S+ drained in .*; sent SIGTERM/, "then is drained and only then stopped");
  }
  // A rollback takes the same path: Swarm rolls to the previous release's digest, greenlight drains.
  const back = await routed.rollback();
  assert.equal(back.result?.status, "succeeded", back.stdout + back.stderr);
  assert.match(back.events.map((e) => e.message).join("\n"), /task \S+ drained in .*; sent SIGTERM/);
  const report = await load.stop();
  assert.ok(
    report.streams.every((s) => s.requests > 0),
    describeLoad(report),
  );
  assert.equal(report.failed, 0, describeLoad(report));
  assert.deepEqual(await taskVersions(routed.unit), ["rt2", "rt2"]);
});

test("routed, with the agent running: tasks scaled by hand between deploys are followed within seconds (a new one routed to, a stopped one drained), `greenlight logs` reads Swarm's, remove-service takes the service, its rule and its network", async () => {
  const keys = await makeKeys(routed.dir, "ci");
  const agent = await startDaemon(routed, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }]);
  try {
    // Tasks change by hand between deploys: the running agent re-reads them each second and follows.
    const ruled = async () => {
      const rule = await run("iptables", ["-t", "nat", "-S", serviceChain(routed.unit)]);
      return [...rule.matchAll(/--to-destination (\S+)/g)].map((m) => m[1] ?? "").sort();
    };
    const settled = async (replicas: number) => {
      const started = Date.now();
      while (Date.now() - started < 20_000) {
        const running = await taskAddresses(routed.unit);
        if (running.length === replicas && (await ruled()).join() === running.join())
          return Date.now() - started;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.fail(
        `rule ${(await ruled()).join(", ")}; running ${(await taskAddresses(routed.unit)).join(", ")}`,
      );
    };
    await docker("service", "scale", "--detach", `${routed.unit}=3`);
    await settled(3);
    // Scaled down, the task Swarm stops is held for its drain: the agent drains it and sends the real signal,
    // well before Swarm's own SIGKILL at the end of its stop grace (drain 30 s + stop_grace 5 s + 5 s).
    await docker("service", "scale", "--detach", `${routed.unit}=2`);
    const down = await settled(2);
    assert.ok(down < 15_000, `the scaled-down task stopped after ${down} ms`);
    for (let i = 0; i < 20; i++) {
      const answer = await fetch(`${routed.nginx.url}/cgi-bin/v`);
      assert.equal(answer.status, 200);
      assert.equal((await answer.text()).trim(), "rt2");
    }
    const env = { GREENLIGHT_KEY: keys.privatePem, GREENLIGHT_AGENT: agent.target };
    const logs = await runClient(["logs", "--service", routed.service, "--lines", "5"], env).done;
    assert.equal(logs.code, 0, logs.stdout + logs.stderr);
    assert.match(logs.stdout, /test-app rt2 listening on :8080/);
  } finally {
    await agent.stop();
  }
  const removed = await routed.spawnAgent(["remove-service", routed.service]).done;
  assert.equal(removed.code, 0, removed.stdout + removed.stderr);
  const networks = await docker("network", "ls", "--format", "{{.Name}}");
  assert.ok(!networks.includes(`greenlight-${routed.unit}`), networks);
});

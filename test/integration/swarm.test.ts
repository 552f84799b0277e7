import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { docker } from "../helpers/run.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { withHealthcheck } from "../fixtures/test-app.js";

const stack = useStack();
let site: Site;
let joined = false;
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

before(async () => {
  await stack.ready;
  // A single-node Swarm on the test engine, left again afterwards so the other tests see a plain engine.
  const state = (await docker("info", "--format", "{{.Swarm.LocalNodeState}}")).trim();
  if (state !== "active") {
    await docker("swarm", "init", "--advertise-addr", "127.0.0.1");
    joined = true;
  }
  site = await Site.start({ registry: stack.registry.host, swarm: { publish }, extra: { replicas: 2 } });
});

after(async () => {
  await docker("service", "rm", site?.unit ?? "none").catch(() => undefined);
  await site?.stop();
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

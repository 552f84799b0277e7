import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../helpers/load.js";
import { ROOT, Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { CONTAINER_LINES_BURST, CONTAINER_LINES_PER_SECOND } from "../../shared/limits.js";

/** The bound README states for the agent's peak RSS while a container floods it (the bundled agent, as installed). */
const RSS_BOUND_MB = 150;

const stack = useStack();
let site: Site;
let agent: RunningAgent;
let ci: Keys;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host, health: { timeout: "30s" } });
  ci = await makeKeys(site.dir, "ci");
  agent = await startDaemon(
    site,
    [{ name: "ci", public_key: ci.publicPem }],
    {},
    join(ROOT, "dist", "greenlight-agent.js"),
  );
});

after(async () => {
  await agent?.stop();
  await site?.stop();
});

const deploy = (image: string) =>
  runClient(["deploy", "--image", image, "--json", "--timeout", "90s"], {
    GREENLIGHT_KEY: ci.privatePem,
    GREENLIGHT_AGENT: agent.target,
    GREENLIGHT_SERVICE: site.service,
  }).done;

/** Peak resident memory of a process so far (VmHWM), in MB. */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

test("a 1 MiB line and a 5 s flood during a deploy under load: the agent stays up, bounded, the deploy succeeds", async () => {
  const v1 = await stack.image({ version: "v1" });
  const hostile = await stack.image({ version: "v2", longLine: 1024 * 1024, flood: 5 });
  assert.equal((await deploy(v1)).code, 0);
  const load = await startLoad(site.nginx.url, FULL_LOAD);
  const run = await deploy(hostile);
  const report = await load.stop();

  assert.equal(run.code, 0, run.stdout.slice(-3000) + run.stderr);
  assert.equal(agent.child.exitCode, null, `the agent died:\n${agent.output().slice(-3000)}`);
  assert.equal(report.failed, 0, describeLoad(report));
  const messages = run.lines.filter((l) => l.type === "event").map((l) => String(l.message));
  const cut = messages.find((m) => m.includes("[line cut: "));
  assert.ok(cut, "the long line is shown, cut, with a marker");
  assert.ok(cut.length < 5000);
  assert.ok(
    messages.some((m) => /container line\(s\) .* not shown/.test(m)),
    "the flood is summarised",
  );
  assert.ok(messages.includes("not utf-8: \ufffd\ufffd\ufffd escapes: red end"), "controls and escapes gone");
  // The burst, then the steady rate for as long as the container's output was followed (longer on a busy
  // machine), plus one second of slack; the agent's own lines are not container lines.
  const container = run.lines.filter((l) => l.type === "event" && l.source === "container");
  const times = container.map((l) => Date.parse(String(l.time)));
  const followedS = (Math.max(...times) - Math.min(...times)) / 1000;
  const relayable = CONTAINER_LINES_BURST + Math.ceil(followedS + 1) * CONTAINER_LINES_PER_SECOND;
  assert.ok(
    container.length <= relayable,
    `${container.length} container lines relayed in ${followedS.toFixed(1)} s (at most ${relayable})`,
  );
  const peak = await peakRssMb(agent.child.pid ?? 0);
  assert.ok(peak < RSS_BOUND_MB, `agent peak RSS ${peak.toFixed(1)} MB ≥ ${RSS_BOUND_MB} MB`);
  process.stdout.write(`# agent peak RSS ${peak.toFixed(1)} MB; ${messages.length} events relayed\n`);

  const again = await deploy(v1);
  assert.equal(again.code, 0, "the same agent serves the next deploy");
});

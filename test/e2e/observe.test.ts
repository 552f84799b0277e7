import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { waitFor } from "../helpers/ports.js";
import { ROOT, Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

interface Receiver {
  url: string;
  calls: { at: number; body: Record<string, unknown> }[];
  server: Server;
}

/** A webhook receiver that answers `status` after `delayMs`, recording each call. */
async function receiver(status: number, delayMs = 0): Promise<Receiver> {
  const calls: Receiver["calls"] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      calls.push({ at: Date.now(), body: JSON.parse(body) as Record<string, unknown> });
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, calls, server };
}

const stack = useStack();
let site: Site;
let agent: RunningAgent;
let ci: Keys;
let stranger: Keys;
let json: Receiver;
let slack: Receiver;
let failing: Receiver;
let slow: Receiver;
const SLOW_MS = 8_000;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  ci = await makeKeys(site.dir, "ci");
  stranger = await makeKeys(site.dir, "stranger");
  [json, slack, failing, slow] = await Promise.all([
    receiver(200),
    receiver(200),
    receiver(500),
    receiver(200, SLOW_MS),
  ]);
  const fast = { retry_delay: "100ms" };
  agent = await startDaemon(site, [{ name: "ci", public_key: ci.publicPem }], {
    notify: {
      webhooks: [
        { url: json.url, format: "json", ...fast },
        { url: slack.url, events: ["succeeded", "failed"], ...fast },
        { url: failing.url, retries: 2, ...fast },
        { url: slow.url, retries: 0 },
        { url: "http://127.0.0.1:9/down", ...fast },
      ],
    },
  });
});

after(async () => {
  await agent?.stop();
  for (const r of [json, slack, failing, slow]) r?.server.close();
  await site?.stop();
});

const cli = (args: string[], key: Keys) =>
  runClient(args, {
    GREENLIGHT_KEY: key.privatePem,
    GREENLIGHT_AGENT: agent.target,
    GREENLIGHT_SERVICE: site.service,
  }).done;

test("a deploy and a refused request: audit log, metrics and webhooks tell what happened", async () => {
  const image = await stack.image({ version: "v1" });
  const started = Date.now();
  const run = await cli(["deploy", "--image", image], ci);
  const finished = Date.now();
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.ok(finished - started < SLOW_MS, "a slow webhook does not hold the deploy");
  const refused = await cli(["status"], stranger);
  assert.equal(refused.code, 3);

  // Audit: the accepted request with its peer, how the deploy ended, and the refusal.
  const audit = await agentCli(["audit", "--config", site.configFile, "--json"]);
  const records = audit
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const outcomes = records.map((r) => r.outcome);
  assert.deepEqual(outcomes, ["accepted", "succeeded", "rejected"]);
  assert.equal(records[0]?.peer, "127.0.0.1");
  assert.equal((records[0]?.identity as Record<string, string>).key, "ci");
  assert.match(String(records[1]?.digest), /^sha256:/);
  assert.equal(records[2]?.code, "AUTH_UNKNOWN_KEY");
  const table = await agentCli([
    "audit",
    "--config",
    site.configFile,
    "--service",
    site.service,
    "--since",
    "1h",
  ]);
  assert.match(table, /TIME \(UTC\)\s+OUTCOME/);
  assert.match(table, /succeeded\s+deploy/);

  // Metrics and health.
  const metrics = await (await fetch(`${agent.httpUrl}/metrics`)).text();
  assert.match(
    metrics,
    new RegExp(`greenlight_deploys_total\\{service="${site.service}",kind="deploy",result="succeeded"\\} 1`),
  );
  assert.match(metrics, /greenlight_auth_failures_total\{reason="AUTH_UNKNOWN_KEY"\} 1/);
  assert.match(
    metrics,
    new RegExp(`greenlight_switch_duration_seconds_count\\{service="${site.service}"\\} 1`),
  );
  assert.match(
    metrics,
    new RegExp(`greenlight_live_release_info\\{service="${site.service}",release="1",digest="sha256:`),
  );
  assert.match(metrics, /greenlight_active_connections \d+/);
  const health = await fetch(`${agent.httpUrl}/healthz`);
  assert.equal(health.status, 200);
  const healthBody = (await health.json()) as { docker: boolean; version: string };
  assert.equal(healthBody.docker, true);
  assert.match(healthBody.version, /^\d+\.\d+\.\d+/);
  assert.match(
    metrics,
    new RegExp(`greenlight_build_info\\{version="${healthBody.version.replace(/\./g, "\\.")}",node="v`),
  );

  // Webhooks: the JSON one got both events, Slack's only what it asked for, in its format.
  await waitFor("the webhooks", async () =>
    json.calls.length >= 2 && slack.calls.length >= 1 && failing.calls.length >= 3 ? true : undefined,
  );
  assert.deepEqual(
    json.calls.map((c) => c.body.event),
    ["started", "succeeded"],
  );
  assert.equal((json.calls[1]?.body.result as { release?: string }).release, "1");
  assert.equal(slack.calls.length, 1);
  assert.match(String(slack.calls[0]?.body.text), /✅ .* release 1 .* live in/);
  // A receiver that keeps failing is retried (retries: 2 → three attempts per event), then given up on.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(failing.calls.length, 6, "started and succeeded, three attempts each");
});

function agentCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "agent/main.ts", ...args],
      { cwd: ROOT },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

// Event latency from the agent to the client's output, agent memory idle and during a deploy, client cold
// start. Usage: npm run bench:protocol -- [--events 10000]
import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { makeKeys, startDaemon } from "../test/helpers/daemon.js";
import { startRegistry } from "../test/helpers/registry.js";
import { ROOT, Site } from "../test/helpers/site.js";
import { median, table } from "./table.js";

const { values } = parseArgs({ options: { events: { type: "string", default: "10000" } } });
const lines = Number(values.events);

async function rssMb(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function coldStart(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 10; i += 1) {
    const started = performance.now();
    await new Promise((resolve) =>
      execFile(process.execPath, [join(ROOT, "dist", "greenlight.js"), "--help"], resolve),
    );
    times.push(performance.now() - started);
  }
  return median(times);
}

const registry = await startRegistry();
const site = await Site.start({ registry: registry.host, health: { interval: "100ms", timeout: "60s" } });
try {
  const chatty = await buildTestApp(registry.host, { version: "chatty", logLines: lines, startDelay: 2 });
  const keys = await makeKeys(site.dir, "ci");
  // The bundled agent, as installed on a server (tsx would add its compiler to the figures).
  const agent = await startDaemon(
    site,
    [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }],
    {},
    join(ROOT, "dist", "greenlight-agent.js"),
  );
  const agentPid = agent.child.pid ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const justStarted = await rssMb(agentPid, "VmRSS");
  // Idle means idle: V8's memory reducer returns start-up garbage after some seconds without work.
  await new Promise((resolve) => setTimeout(resolve, 13_000));
  const idle = await rssMb(agentPid, "VmRSS");

  const latencies: number[] = [];
  let events = 0;
  const client = spawn(
    process.execPath,
    [join(ROOT, "dist", "greenlight.js"), "deploy", "--image", chatty, "--json"],
    {
      env: {
        ...process.env,
        GREENLIGHT_AGENT: agent.target,
        GREENLIGHT_KEY: keys.privatePem,
        GREENLIGHT_SERVICE: site.service,
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let pending = "";
  client.stdout.on("data", (chunk: Buffer) => {
    const now = Date.now();
    pending += chunk.toString();
    let index: number;
    while ((index = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, index);
      pending = pending.slice(index + 1);
      const parsed = JSON.parse(line) as { type: string; time?: string };
      if (parsed.type !== "event" || !parsed.time) continue;
      events += 1;
      latencies.push(now - Date.parse(parsed.time));
    }
  });
  await new Promise((resolve) => client.on("close", resolve));
  const peak = await rssMb(agentPid, "VmHWM");
  await agent.stop();
  const cold = await coldStart();

  process.stdout.write(
    `\nProtocol benchmark: one deploy streaming ${lines} container log lines over loopback\n\n`,
  );
  process.stdout.write(
    `${table(
      ["measure", "value", "target"],
      [
        ["events delivered", events, `≥ ${lines}`],
        ["event latency agent → client output, p50", `${percentile(latencies, 50)} ms`, ""],
        ["event latency agent → client output, p99", `${percentile(latencies, 99)} ms`, "≤ 50 ms"],
        ["agent RSS, 2 s after start", `${justStarted.toFixed(1)} MB`, ""],
        ["agent RSS, idle (15 s after start)", `${idle.toFixed(1)} MB`, "≤ 60 MB"],
        ["agent RSS, peak during the deploy", `${peak.toFixed(1)} MB`, ""],
        ["client cold start (greenlight --help), median of 10", `${cold.toFixed(0)} ms`, ""],
      ],
    )}\n`,
  );
} finally {
  await site.stop();
  await registry.stop();
}

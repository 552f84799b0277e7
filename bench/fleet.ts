// One client deploying to many agents on loopback: wall time, the client's peak memory, and every event the
// agents recorded against every event the client printed. Usage: npm run bench:fleet -- [--sizes 10,50,100]
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { defaultUpstreamName, renderStableUpstream } from "../agent/proxy/nginx/upstream.js";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { makeKeys } from "../test/helpers/daemon.js";
import { onJsonLines } from "../test/helpers/json-lines.js";
import { startRegistry } from "../test/helpers/registry.js";
import { docker } from "../test/helpers/run.js";
import { ROOT, removeNatChain } from "../test/helpers/site.js";
import { ms, table } from "./table.js";

const { values } = parseArgs({ options: { sizes: { type: "string", default: "10,50,100" } } });
const sizes = values.sizes.split(",").map(Number);
const largest = Math.max(...sizes);
const SERVICE = "web";
const progress = (line: string) => process.stderr.write(`${line}\n`);

interface Agent {
  id: string;
  url: string;
  unit: string;
  stateDir: string;
  child: ChildProcess;
}

/**
 * A lightweight service per agent: a real container, health check, NAT switch and drain, with nginx already
 * pointing at the service's stable address (as after its first deploy), so no nginx is needed per agent.
 */
async function startAgent(dir: string, index: number, registry: string, publicPem: string, gateway: string) {
  const unit = `fl${index}-${randomBytes(2).toString("hex")}`;
  const port = 18200 + index;
  const upstreamFile = join(dir, `${unit}.upstream.conf`);
  await writeFile(
    upstreamFile,
    renderStableUpstream(unit, defaultUpstreamName(SERVICE), `${gateway}:${port}`),
  );
  const stateDir = join(dir, `state-${index}`);
  const config = {
    id: `fleet-${index}`,
    listen: "127.0.0.1:0",
    http: { listen: "127.0.0.1:0" },
    state_dir: stateDir,
    trust: { keys: [{ name: "ci", public_key: publicPem }] },
    services: {
      [SERVICE]: {
        image: `${registry}/testapp`,
        port: 8080,
        container_name: unit,
        health: { path: "/cgi-bin/health", interval: "100ms", timeout: "60s" },
        drain: "5s",
        stop_grace: "1s",
        switch: { mode: "nat", port },
        nginx: { upstream_file: upstreamFile, test: ["true"], reload: ["true"] },
      },
    },
  };
  const configFile = join(dir, `agent-${index}.yml`);
  await writeFile(configFile, stringify(config));
  const child = spawn(
    process.execPath,
    [join(ROOT, "dist", "greenlight-agent.js"), "run", "--config", configFile],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [^:\s]+:(\d+)/.exec(output);
      if (match) resolve(`ws://127.0.0.1:${match[1]}`);
    });
    child.on("exit", (code) => reject(new Error(`agent ${index} exited (${code}): ${output}`)));
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return { id: config.id, url, unit, stateDir, child };
}

interface Run {
  wallMs: number;
  peakRssMb: number;
  code: number | null;
  delivered: Map<string, number>;
  deployIds: Map<string, string>;
  /** What failed where, when something did. */
  failures: string[];
}

/** Runs the bundled client once against `agents`, sampling its peak RSS and counting the events it prints. */
async function deploy(agents: Agent[], image: string, mode: string[], keyPem: string): Promise<Run> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "dist", "greenlight.js"),
      "deploy",
      "--service",
      SERVICE,
      "--image",
      image,
      "--json",
      ...mode,
      ...agents.flatMap((a) => ["--agent", `${a.id}=${a.url}`]),
    ],
    { env: { PATH: process.env.PATH ?? "", GREENLIGHT_KEY: keyPem }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const seen = new Map<string, Set<number>>();
  const deployIds = new Map<string, string>();
  const failures: string[] = [];
  onJsonLines(child.stdout, (line) => {
    if (line.type === "event" && line.level === "error")
      failures.push(`${String(line.host)}: ${String(line.message)}`);
    const host = String(line.host ?? "");
    if (line.type === "accepted") deployIds.set(host, String(line.deployId));
    if (line.type !== "event") return;
    const seqs = seen.get(host) ?? new Set<number>();
    seqs.add(Number(line.seq));
    seen.set(host, seqs);
  });
  child.stderr?.resume();
  let peak = 0;
  const sampler = setInterval(() => {
    void readFile(`/proc/${child.pid}/status`, "utf8")
      .then((status) => {
        peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      })
      .catch(() => undefined);
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(sampler);
  const delivered = new Map([...seen].map(([host, seqs]) => [host, seqs.size]));
  return { wallMs: performance.now() - started, peakRssMb: peak, code, delivered, deployIds, failures };
}

/** Events each agent recorded for its deploy, from its own deploy log. */
async function recorded(agent: Agent, deployId: string | undefined): Promise<number> {
  if (!deployId) return 0;
  const text = await readFile(join(agent.stateDir, "deploys", SERVICE, `${deployId}.jsonl`), "utf8");
  return text.split("\n").filter((line) => line.includes('"type":"event"')).length;
}

const dir = await mkdtemp(join(tmpdir(), "greenlight-fleet-"));
await mkdir(dir, { recursive: true });
const registry = await startRegistry();
const agents: Agent[] = [];
const rows: (string | number)[][] = [];
try {
  const keys = await makeKeys(dir, "ci");
  const images = await Promise.all([
    buildTestApp(registry.host, { version: "v1" }),
    buildTestApp(registry.host, { version: "v2" }),
  ]);
  // The host's address on Docker's default bridge: where each service's stable port listens.
  const gateway = networkInterfaces().docker0?.find((a) => a.family === "IPv4")?.address ?? "172.17.0.1";
  progress(`starting ${largest} agents`);
  for (let i = 0; i < largest; i += 1) {
    agents.push(await startAgent(dir, i, registry.host, keys.publicPem, gateway));
  }
  progress("first deploy everywhere (not measured)");
  const first = await deploy(agents, images[0] ?? "", ["--strategy", "parallel"], keys.privatePem);
  if (first.code !== 0) {
    throw new Error(`first deploy failed (exit ${first.code}):\n${first.failures.slice(0, 5).join("\n")}`);
  }
  let next = 1;
  for (const size of sizes) {
    for (const [name, mode] of [
      ["rolling, batch 10", ["--strategy", "rolling", "--batch", "10"]],
      ["parallel", ["--strategy", "parallel"]],
    ] as const) {
      const group = agents.slice(0, size);
      progress(`${size} agents, ${name}`);
      const run = await deploy(group, images[next % 2] ?? "", [...mode], keys.privatePem);
      next += 1;
      let sent = 0;
      let delivered = 0;
      for (const agent of group) {
        const host = `127.0.0.1:${new URL(agent.url).port}`;
        sent += await recorded(agent, run.deployIds.get(host));
        delivered += run.delivered.get(host) ?? 0;
      }
      rows.push([
        size,
        name,
        run.code === 0 ? "all succeeded" : `exit ${run.code}`,
        ms(run.wallMs),
        `${run.peakRssMb.toFixed(1)} MB`,
        sent,
        delivered,
        sent - delivered,
      ]);
    }
  }
} finally {
  for (const agent of agents) agent.child.kill("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const agent of agents) {
    await removeNatChain(agent.unit);
    for (const colour of ["blue", "green"])
      await docker("rm", "-f", `${agent.unit}-${colour}`).catch(() => "");
  }
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
}

process.stdout.write(
  `\nFleet benchmark: one client, agents on loopback, each with its own container and NAT switch\n\n`,
);
process.stdout.write(
  `${table(
    [
      "agents",
      "strategy",
      "outcome",
      "wall time",
      "client peak RSS",
      "events sent",
      "events delivered",
      "lost",
    ],
    rows,
  )}\n`,
);

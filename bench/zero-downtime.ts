// Deploys N times under the same sustained load with greenlight (both switch modes) and the baselines, and
// prints what each cost in failed requests and time. Usage: npm run bench:zero-downtime -- [--deploys 20]
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { FULL_LOAD, startLoad, type LoadReport } from "../test/helpers/load.js";
import { startRegistry } from "../test/helpers/registry.js";
import {
  greenlight,
  naive,
  reloadThenStop,
  twoPort,
  type DeployTiming,
  type Strategy,
} from "./strategies.js";
import { swarm, Unavailable } from "./swarm-strategies.js";
import { median, ms, table } from "./table.js";

const { values } = parseArgs({
  options: { deploys: { type: "string", default: "20" }, only: { type: "string" } },
});
const deploys = Number(values.deploys);
const strategies: Strategy[] = [
  greenlight("nat"),
  greenlight("reload"),
  naive,
  twoPort,
  reloadThenStop,
  swarm("mesh"),
  swarm("nat"),
  swarm("nat, no drain"),
].filter((s) => !values.only || s.name.includes(values.only));

interface Outcome {
  strategy: string;
  timings: DeployTiming[];
  load: LoadReport;
  nginxErrors: string[];
  /** Why the strategy could not run here: its row says so instead of figures. */
  unavailable?: string;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

async function latency(url: string): Promise<{ p50: number; p99: number }> {
  // wrk --latency prints the distribution; static files keep the app's own time out of the comparison.
  const output = await new Promise<string>((resolve) => {
    let text = "";
    const child = spawn("wrk", ["-t1", "-c8", "-d5s", "--latency", `${url}/index.html`]);
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.on("close", () => resolve(text));
  });
  const parse = (pct: string) => {
    const match = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(output);
    if (!match) return Number.NaN;
    const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as "us" | "ms" | "s"];
    return Number(match[1]) * scale;
  };
  return { p50: parse("50"), p99: parse("99") };
}

const registry = await startRegistry();
const images = await Promise.all([
  buildTestApp(registry.host, { version: "v1" }),
  buildTestApp(registry.host, { version: "v2" }),
]);
const outcomes: Outcome[] = [];
const latencies: { strategy: string; p50: number; p99: number }[] = [];
try {
  for (const strategy of strategies) {
    progress(`${strategy.name}: ${deploys} deploys under load`);
    let target;
    try {
      target = await strategy.setup(registry.host, images[0] ?? "");
    } catch (error) {
      if (!(error instanceof Unavailable)) throw error;
      progress(`  not measurable here: ${error.message}`);
      const empty = { requests: 0, failed: 0, streams: [] };
      outcomes.push({
        strategy: strategy.name,
        timings: [],
        load: empty,
        nginxErrors: [],
        unavailable: error.message,
      });
      continue;
    }
    if (strategy.name.startsWith("greenlight"))
      latencies.push({ strategy: strategy.name, ...(await latency(target.url)) });
    const load = await startLoad(target.url, FULL_LOAD);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const timings: DeployTiming[] = [];
    for (let i = 0; i < deploys; i += 1) {
      timings.push(await target.deploy(images[(i + 1) % 2] ?? ""));
      const last = timings.at(-1);
      progress(
        `  deploy ${i + 1}/${deploys}: ${last?.ok ? ms(last.totalMs) : `failed (${last?.error ?? "no reason given"})`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    outcomes.push({
      strategy: strategy.name,
      timings,
      load: await load.stop(),
      nginxErrors: await target.nginxErrors(),
    });
    await target.teardown();
  }
} finally {
  await registry.stop();
}

/**
 * nginx's log of a request the app's side closed or reset after it was sent: a request cut mid-flight. nginx
 * retries an idempotent one (a GET) on a fresh connection, so the client may never see it; a POST it cannot.
 */
const CUT = /upstream prematurely closed|recv\(\) failed \(104/;

const overhead = (t: DeployTiming) =>
  t.pullMs === undefined ? Number.NaN : t.totalMs - (t.pullMs ?? 0) - (t.readinessMs ?? 0) - (t.drainMs ?? 0);

process.stdout.write(`\nZero-downtime benchmark: ${deploys} deploys per strategy under one sustained load\n`);
process.stdout.write(
  `load: ${FULL_LOAD.map((s) => `${s.connections} × ${s.name}${s.pauseMs ? ` (idle ${s.pauseMs} ms)` : ""}`).join(", ")}\n\n`,
);
process.stdout.write(
  `${table(
    [
      "strategy",
      "deploys ok",
      "requests",
      "failed",
      "failure rate",
      "deploy (median)",
      "switch (median)",
      "overhead (median)",
      "stop after last request (median)",
      "cut mid-request",
    ],
    outcomes.map((o) =>
      o.unavailable
        ? [o.strategy, "n/a (see below)", "–", "–", "–", "–", "–", "–", "–", "–"]
        : [
            o.strategy,
            `${o.timings.filter((t) => t.ok).length}/${o.timings.length}`,
            o.load.requests,
            o.load.failed,
            `${((100 * o.load.failed) / Math.max(1, o.load.requests)).toFixed(3)} %`,
            ms(median(o.timings.map((t) => t.totalMs))),
            ms(median(o.timings.map((t) => t.switchMs ?? Number.NaN))),
            ms(median(o.timings.map(overhead))),
            ms(median(o.timings.map((t) => t.drainTailMs ?? Number.NaN))),
            o.nginxErrors.filter((line) => CUT.test(line)).length,
          ],
    ),
  )}\n\n`,
);
const stepNames = ["queue", "pull", "start", "health", "switch", "drain", "stop", "total"] as const;
const stepped = outcomes.filter((o) => o.timings.some((t) => t.steps));
if (stepped.length > 0) {
  process.stdout.write("greenlight's steps (median per deploy)\n\n");
  process.stdout.write(
    `${table(
      ["strategy", ...stepNames, "unaccounted"],
      stepped.map((o) => {
        const at = (step: (typeof stepNames)[number]) => median(o.timings.map((t) => t.steps?.[step] ?? 0));
        const accounted = stepNames.filter((s) => s !== "total").reduce((sum, s) => sum + at(s), 0);
        return [o.strategy, ...stepNames.map((s) => ms(at(s))), ms(at("total") - accounted)];
      }),
    )}\n\n`,
  );
}
const streams = FULL_LOAD.map((s) => s.name);
process.stdout.write("Failed requests by load and strategy\n\n");
process.stdout.write(
  `${table(
    ["load", ...outcomes.map((o) => o.strategy)],
    streams.map((stream) => [
      stream,
      ...outcomes.map((o) => o.load.streams.find((s) => s.name === stream)?.failed ?? "–"),
    ]),
  )}\n\n`,
);
if (latencies.length > 0) {
  process.stdout.write("Per-request latency through nginx (static file, 8 connections, 5 s)\n\n");
  process.stdout.write(
    `${table(
      ["path", "p50", "p99"],
      latencies.map((l) => [
        l.strategy.includes("nat") ? "nginx → NAT rule → container" : "nginx → container",
        `${l.p50.toFixed(3)} ms`,
        `${l.p99.toFixed(3)} ms`,
      ]),
    )}\n`,
  );
}

process.stdout.write("\nWhere the failures came from\n\n");
for (const o of outcomes) {
  process.stdout.write(`${o.strategy}:\n`);
  if (o.unavailable) process.stdout.write(`  not measured: ${o.unavailable}\n`);
  for (const s of o.load.streams) if (s.failed > 0) process.stdout.write(`  ${s.name}: ${s.detail}\n`);
  const kinds = new Map<string, number>();
  for (const line of o.nginxErrors) {
    // The error and the phase it hit ("while connecting to upstream", "while reading response header…").
    const match = /\*\d+ (.*?)(?:, client|$)/.exec(line);
    const kind = match?.[1] ?? line.slice(20, 100);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  for (const [kind, count] of kinds) process.stdout.write(`  nginx: ${count} × ${kind}\n`);
}

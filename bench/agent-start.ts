// The agent as a single executable against the agent as a bundle run by node: what a server downloads, and how
// long the agent takes to answer --version and to listen (config loaded, WebSocket and metrics listeners up),
// each the median of N runs side by side. Usage: npm run bench:agent-start -- [--runs 10]
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, ms, table } from "./table.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "10" } } });
const runs = Number(values.runs);
const binary = join("build", `greenlight-agent-linux-${process.arch}`);
const bundle = join("dist", "greenlight-agent.js");
const dir = await mkdtemp(join(tmpdir(), "greenlight-bench-start-"));
const config = join(dir, "agent.yml");
await writeFile(
  config,
  `id: bench\nlisten: 127.0.0.1:0\nstate_dir: ${join(dir, "state")}\nhttp: { listen: "127.0.0.1:0" }\nservices: {}\n`,
);

/** Milliseconds from spawn until `until` shows in its output (or it exits, for --version). */
function timed(command: string, args: string[], until?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    let output = "";
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (until?.test(output)) {
        const took = elapsed();
        child.kill("SIGTERM");
        resolve(took);
      }
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.on("exit", (code) => {
      if (until) return;
      if (code === 0) resolve(elapsed());
      else reject(new Error(`${command} exited ${code}: ${output}`));
    });
  });
}

const variants = [
  { name: "single executable", command: binary, args: [] as string[], size: (await stat(binary)).size },
  {
    name: "bundle + node",
    command: process.execPath,
    args: [bundle],
    size: (await stat(bundle)).size + (await stat(process.execPath)).size,
  },
];
const rows: (string | number)[][] = [];
try {
  for (const v of variants) {
    const version: number[] = [];
    const listening: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      version.push(await timed(v.command, [...v.args, "--version"]));
      listening.push(await timed(v.command, [...v.args, "run", "--config", config], /listening on/));
    }
    rows.push([
      v.name,
      `${(v.size / 1024 / 1024).toFixed(1)} MB`,
      ms(median(version)),
      ms(median(listening)),
    ]);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(
  `agent start, median of ${runs} runs (node ${process.version})\n${table(["agent", "on disk", "--version", "until listening"], rows)}\n`,
);

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { onJsonLines } from "./json-lines.js";
import { ROOT } from "./site.js";

export interface ClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

/** Runs the `greenlight` CLI as CI would; `onLine` sees each JSON line as it streams. */
export function runClient(
  args: string[],
  env: Record<string, string> = {},
  onLine?: (line: Record<string, unknown>, child: ChildProcess) => void,
): { child: ChildProcess; done: Promise<ClientRun> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "action", "cli.ts"), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: ClientRun = { code: null, stdout: "", stderr: "", lines: [] };
  child.stdout?.on("data", (chunk: Buffer) => (run.stdout += chunk.toString()));
  onJsonLines(child.stdout, (parsed) => {
    run.lines.push(parsed);
    onLine?.(parsed, child);
  });
  child.stderr?.on("data", (chunk: Buffer) => (run.stderr += chunk.toString()));
  const done = new Promise<ClientRun>((resolve) => child.on("close", (code) => resolve({ ...run, code })));
  return { child, done };
}

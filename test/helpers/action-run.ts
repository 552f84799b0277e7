import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "./site.js";

export interface ActionRun {
  code: number | null;
  /** stdout and stderr, as the runner's log shows them. */
  stdout: string;
  /** Outputs as the runner reads them from GITHUB_OUTPUT (name<<delimiter … delimiter). */
  outputs: Record<string, string>;
  /** GITHUB_OUTPUT as written. */
  outputFile: string;
  summary: string;
}

/**
 * Runs the bundled action (dist/action.js) as the runner does: inputs as INPUT_<NAME>, outputs and the job
 * summary written to the files the runner names.
 */
export async function runBundledAction(
  dir: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  const tag = randomBytes(4).toString("hex");
  const outputFile = join(dir, `output-${tag}`);
  const summaryFile = join(dir, `summary-${tag}`);
  await writeFile(outputFile, "");
  await writeFile(summaryFile, "");
  const full: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    ...env,
  };
  for (const [name, value] of Object.entries(inputs)) full[`INPUT_${name.toUpperCase()}`] = value;
  const child = spawn(process.execPath, [join(ROOT, "dist", "action.js")], {
    env: full,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const raw = await readFile(outputFile, "utf8");
  const outputs: Record<string, string> = {};
  for (const match of raw.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm))
    outputs[match[1] ?? ""] = match[3] ?? "";
  return { code, stdout, outputs, outputFile: raw, summary: await readFile(summaryFile, "utf8") };
}

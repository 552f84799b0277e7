import type { parseArgs } from "node:util";
import { GreenlightError } from "../../shared/errors.js";

/** The agent CLI's flags; every subcommand reads the ones it needs from the same parsed set. */
export const AGENT_OPTIONS = {
  config: { type: "string" },
  service: { type: "string" },
  image: { type: "string" },
  to: { type: "string" },
  since: { type: "string" },
  root: { type: "string", default: "/" },
  user: { type: "string", default: "greenlight" },
  "no-start": { type: "boolean", default: false },
  purge: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  debug: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export type AgentValues = ReturnType<
  typeof parseArgs<{ options: typeof AGENT_OPTIONS; allowPositionals: true }>
>["values"];

export function required(values: AgentValues, name: "config" | "service" | "image"): string {
  const value = values[name];
  if (!value) throw new GreenlightError("USAGE", `--${name} is required (see --help)`);
  return value;
}

export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

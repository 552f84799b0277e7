import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { GreenlightError } from "../../shared/errors.js";
import { AgentConfigSchema, type AgentConfig } from "./schema.js";

export interface ConfigProblem {
  path: string;
  line?: number;
  message: string;
}

/** A config's text checked against the schema, with a way to find the line of any key path. */
export interface ValidatedConfig {
  config?: AgentConfig;
  /** The document as plain data, valid or not: what further checks look into. */
  raw: unknown;
  problems: ConfigProblem[];
  lineOf(path: (string | number)[]): number | undefined;
}

export function validateConfigText(text: string): ValidatedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (path: (string | number)[]) => {
    // The deepest node that exists: a missing key is reported where its parent is.
    for (let depth = path.length; depth > 0; depth -= 1) {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({
      path: "",
      line: error.linePos?.[0]?.line,
      message: error.message.split("\n")[0] ?? error.message,
    }));
    return { raw: undefined, problems, lineOf };
  }
  const raw: unknown = doc.toJS();
  const parsed = AgentConfigSchema.safeParse(raw);
  if (parsed.success) return { config: parsed.data, raw, problems: [], lineOf };
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map((part) => (typeof part === "number" ? part : String(part)));
    return { path: path.join("."), line: lineOf(path), message: issue.message };
  });
  return { raw, problems, lineOf };
}

/** Parses and validates YAML text; every problem names its key path and line. */
export function parseConfig(text: string, source = "config"): AgentConfig {
  const validated = validateConfigText(text);
  if (validated.config) return validated.config;
  throw configError(source, validated.problems);
}

function configError(source: string, problems: ConfigProblem[]): GreenlightError {
  const lines = problems.map(
    (p) => `  ${source}${p.line ? `:${p.line}` : ""}: ${p.path || "(document)"}: ${p.message}`,
  );
  return new GreenlightError("CONFIG_INVALID", `invalid configuration:\n${lines.join("\n")}`, { problems });
}

export async function loadConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new GreenlightError(
      "CONFIG_NOT_FOUND",
      `cannot read config file ${file}: ${(error as Error).message}`,
    );
  }
  return parseConfig(text, file);
}

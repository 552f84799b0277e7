import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { GreenlightError } from "../shared/errors.js";
import { AgentConfigSchema, type AgentConfig } from "./config-schema.js";

export interface ConfigProblem {
  path: string;
  line?: number;
  message: string;
}

/** Parses and validates YAML text; every problem names its key path and line. */
export function parseConfig(text: string, source = "config"): AgentConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({
      path: "",
      line: error.linePos?.[0]?.line,
      message: error.message.split("\n")[0] ?? error.message,
    }));
    throw configError(source, problems);
  }
  const parsed = AgentConfigSchema.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    return { path: path.join("."), line, message: issue.message };
  });
  throw configError(source, problems);
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

import { readFile } from "node:fs/promises";
import { GreenlightError } from "../../../shared/errors.js";
import type { ServiceConfig } from "../../config/schema.js";

/** The service's environment: `env_file` (KEY=VALUE lines) overridden by `env`. */
export async function serviceEnv(config: ServiceConfig): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (config.env_file) {
    let text: string;
    try {
      text = await readFile(config.env_file, "utf8");
    } catch (error) {
      throw new GreenlightError(
        "CONFIG_INVALID",
        `cannot read env_file ${config.env_file}: ${(error as Error).message}`,
      );
    }
    for (const line of text.split("\n")) {
      const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
      if (!match?.[1] || line.trim().startsWith("#")) continue;
      env[match[1]] = (match[2] ?? "").replace(/^(['"])(.*)\1$/, "$2");
    }
  }
  return { ...env, ...config.env };
}

import { readFile } from "node:fs/promises";
import { EXIT, GreenlightError } from "../../shared/errors.js";
import { checkConfigText, formatProblems } from "../config/check.js";
import { parseConfig } from "../config/load.js";
import { required, say, type AgentValues } from "./options.js";

/** `check-config`: every problem of a config file at once, with its line, before the agent is restarted on it. */
export async function checkConfigCommand(values: AgentValues): Promise<number> {
  const file = required(values, "config");
  const text = await readFile(file, "utf8").catch((error: Error) => {
    throw new GreenlightError("CONFIG_NOT_FOUND", `cannot read config file ${file}: ${error.message}`);
  });
  const problems = await checkConfigText(text);
  if (problems.length > 0) {
    say(`${formatProblems(file, problems)}\n${problems.length} problem(s) in ${file}`);
    return EXIT.usage;
  }
  const config = parseConfig(text, file);
  say(`config ok: agent ${config.id}, ${Object.keys(config.services).length} service(s)`);
  return EXIT.ok;
}

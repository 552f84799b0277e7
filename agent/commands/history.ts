import { EXIT } from "../../shared/errors.js";
import { jsonLine } from "../../shared/neutralize.js";
import type { AgentConfig } from "../config/schema.js";
import { formatHistory } from "./history-table.js";
import { localEngine } from "./local-engine.js";
import { required, type AgentValues } from "./options.js";

/** `history --service`: the service's releases, newest first. */
export async function historyCommand(config: AgentConfig, values: AgentValues): Promise<number> {
  const records = await localEngine(config).history(required(values, "service"));
  process.stdout.write(values.json ? `${jsonLine(records, 2)}\n` : formatHistory(records));
  return EXIT.ok;
}

import { parseDuration } from "../../shared/duration.js";
import { EXIT, GreenlightError } from "../../shared/errors.js";
import { jsonLine } from "../../shared/neutralize.js";
import type { AgentConfig } from "../config/schema.js";
import { AuditLog } from "../state/audit-log.js";
import { formatAudit } from "./audit-table.js";
import type { AgentValues } from "./options.js";

/** `--since`: a duration back from now (90m, 24h) or a date/time (2026-11-23, 2026-11-23T10:00:00Z). */
export function parseSince(text: string): Date {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(Date.now() - ago);
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new GreenlightError("USAGE", `--since "${text}" is neither a duration nor a date`);
  return new Date(at);
}

/** `audit`: accepted requests and refusals, kept apart on disk, shown together in the order they happened. */
export async function auditCommand(config: AgentConfig, values: AgentValues): Promise<number> {
  const filter = {
    ...(values.service ? { service: values.service } : {}),
    ...(values.since ? { since: parseSince(values.since) } : {}),
  };
  const records = [
    ...(await new AuditLog(config.state_dir).read(filter)),
    ...(await new AuditLog(config.state_dir, undefined, undefined, undefined, "refused").read(filter)),
  ].sort((a, b) => a.time.localeCompare(b.time));
  process.stdout.write(values.json ? records.map((r) => `${jsonLine(r)}\n`).join("") : formatAudit(records));
  return EXIT.ok;
}

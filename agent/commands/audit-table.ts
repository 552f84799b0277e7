import { formatDuration } from "../../shared/duration.js";
import { formatTable } from "../../shared/text-table.js";
import type { AuditRecord } from "../state/audit-log.js";

/** Who a record speaks for, briefly: the key's name, or the CI identity's repository, ref and actor. */
function who(identity: Record<string, string>): string {
  if (identity.repository) {
    return [identity.repository, identity.ref?.replace(/^refs\/heads\//, ""), identity.actor]
      .filter(Boolean)
      .join(" ");
  }
  return identity.key ? `key ${identity.key}` : (identity.operator ?? "-");
}

/** The audit log as a fixed-width table, oldest first (as it happened). */
export function formatAudit(records: AuditRecord[]): string {
  const rows = records.map((r) => [
    r.time.replace("T", " ").slice(0, 19),
    r.outcome,
    r.command ?? "-",
    r.service ?? "-",
    who(r.identity).slice(0, 48),
    r.peer ?? "-",
    r.digest ? r.digest.replace(/^sha256:/, "").slice(0, 12) : (r.image ?? "-").slice(-40),
    r.deployId ?? "-",
    r.durationMs !== undefined ? formatDuration(r.durationMs) : "-",
    r.code ?? "",
  ]);
  const header = [
    "TIME (UTC)",
    "OUTCOME",
    "COMMAND",
    "SERVICE",
    "WHO",
    "PEER",
    "IMAGE/DIGEST",
    "DEPLOY",
    "TOOK",
    "CODE",
  ];
  return `${formatTable(header, rows)}\n`;
}

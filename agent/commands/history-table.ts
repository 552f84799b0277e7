import { formatDuration } from "../../shared/duration.js";
import { formatTable } from "../../shared/text-table.js";
import type { ReleaseRecord } from "../state/releases.js";

/** Release history as a fixed-width table, newest first. */
export function formatHistory(records: ReleaseRecord[]): string {
  const rows = [...records].reverse().map((r) => [
    r.id,
    r.kind,
    r.status,
    r.colour,
    (r.digest ?? "").replace(/^sha256:/, "").slice(0, 12) || "-",
    r.startedAt.replace("T", " ").slice(0, 19),
    Object.entries(r.by)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")
      .slice(0, 40) || "-",
    r.durations ? formatDuration(r.durations.total) : "-",
    r.error ? r.error.code : "",
  ]);
  const header = ["RELEASE", "KIND", "STATUS", "COLOUR", "DIGEST", "STARTED (UTC)", "BY", "TOOK", "ERROR"];
  return `${formatTable(header, rows)}\n`;
}

import { formatDuration } from "../../shared/duration.js";
import { formatTable } from "../../shared/text-table.js";
import type { FleetReport } from "./fleet.js";
import { neutralize } from "../../shared/neutralize.js";

/** One row per host: what happened there, the release it serves now, and why when it is not the new one. */
export function formatFleet(report: FleetReport): string {
  const rows = report.hosts.map((h) => [
    h.host,
    h.status,
    h.revert?.release ?? h.result?.release ?? "-",
    h.result ? formatDuration(h.result.durations.total) : "-",
    neutralize(
      h.revert
        ? `rolled back: ${h.revert.status}${h.revert.error ? ` (${h.revert.error})` : ""}`
        : h.result?.error
          ? `${h.result.error.code} at ${h.result.error.step ?? "?"}: ${h.result.error.message}`
          : h.error
            ? `${h.error.code}: ${h.error.message}`
            : "",
    ).slice(0, 160),
  ]);
  return formatTable(["HOST", "RESULT", "RELEASE", "TOOK", "DETAIL"], rows);
}

import type { DeployResult } from "../../shared/events.js";
import { formatDuration } from "../../shared/duration.js";
import { neutralize } from "../../shared/neutralize.js";
import type { FleetReport, HostReport } from "../fleet/fleet.js";
import { timelineMermaid } from "./timeline.js";

const LABEL: Record<HostReport["status"], string> = {
  succeeded: "✅ succeeded",
  failed: "❌ failed",
  rolled_back: "❌ rolled back",
  reverted: "↩️ reverted (another host failed)",
  not_started: "⏸ not started",
  unreachable: "❌ unreachable",
  rejected: "❌ rejected",
};

/** The job summary as Markdown: one row per host. Cells are escaped; nothing from the agent becomes markup. */
export function summaryMarkdown(
  command: string,
  service: string,
  image: string,
  report: FleetReport,
): string {
  const cell = (text: string) => neutralize(text, 300).replace(/[|\\`*_<>[\]&]/g, (c) => `\\${c}`);
  const rows = report.hosts.map((o) => {
    const r: DeployResult | undefined = o.result;
    const detail = r?.error
      ? `${r.error.code}: ${r.error.message}`
      : o.error
        ? `${o.error.code}: ${o.error.message}`
        : o.revert
          ? `rolled back to release ${o.revert.release ?? "?"}: ${o.revert.status}${o.revert.error ? ` (${o.revert.error})` : ""}`
          : "";
    const status = o.status === "failed" && !r && o.error ? `❌ ${o.error.code}` : LABEL[o.status];
    return [
      o.host,
      service,
      image,
      r?.digest ? r.digest.replace(/^sha256:/, "").slice(0, 12) : "–",
      r?.release ?? "–",
      status,
      r ? formatDuration(r.durations.total) : "–",
      r?.deployId ?? "–",
      detail,
    ].map((value) => cell(value));
  });
  const header = [
    "host",
    "service",
    "image",
    "digest",
    "release",
    "result",
    "duration",
    "audit id (deploy)",
    "detail",
  ];
  const timeline = timelineMermaid(report);
  return [
    `### greenlight ${command}`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    ...(timeline ? [timeline] : []),
  ].join("\n");
}

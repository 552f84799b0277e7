import type { DeployResult } from "../shared/events.js";
import { formatDuration } from "../shared/duration.js";

export interface HostOutcome {
  host: string;
  service: string;
  image: string;
  result?: DeployResult;
  error?: { code: string; message: string };
}

/** The job summary as Markdown: one row per host. Cells are escaped; nothing from the agent becomes markup. */
export function summaryMarkdown(command: string, outcomes: HostOutcome[]): string {
  const cell = (text: string) => text.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
  const rows = outcomes.map((o) => {
    const r = o.result;
    const status = r
      ? r.status === "succeeded"
        ? "✅ succeeded"
        : `❌ ${r.status}`
      : `❌ ${o.error?.code ?? "not run"}`;
    const detail = r?.error ? `${r.error.code}: ${r.error.message}` : (o.error?.message ?? "");
    return [
      o.host,
      o.service,
      o.image,
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
  return [
    `### greenlight ${command}`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
  ].join("\n");
}

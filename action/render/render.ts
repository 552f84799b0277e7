import type { DeployEvent, DeployResult } from "../../shared/events.js";
import { formatEvent, formatResult } from "../../shared/format-event.js";
import type { Command, StatusMessage } from "../../shared/protocol.js";
import { formatDuration } from "../../shared/duration.js";
import type { Renderer } from "../client/client.js";
import { jsonLine, neutralize } from "../../shared/neutralize.js";
import { formatTable } from "../../shared/text-table.js";
import type { Write } from "./log-writer.js";

export type { Write } from "./log-writer.js";

/** Plain text, one line per event: elapsed time, step, message; the container's own lines indented. */
export function plainRenderer(
  write: Write,
  options: { prefix?: string; debug?: boolean } = {},
): Renderer & { result(result: DeployResult): void } {
  const startedAt = Date.now();
  const prefix = options.prefix ? `[${options.prefix}] ` : "";
  return {
    accepted: (deployId: string, command: Command) => write(`${prefix}${command} accepted as ${deployId}`),
    event: (event: DeployEvent) => {
      if (event.level === "debug" && !options.debug) return;
      write(`${prefix}${formatEvent({ ...event, message: neutralize(event.message) }, startedAt)}`);
    },
    reconnecting: (attempt: number, delayMs: number, reason: string) =>
      write(
        `${prefix}connection lost (${neutralize(reason)}); reconnecting in ${formatDuration(delayMs)} (attempt ${attempt})`,
      ),
    result: (result: DeployResult) => write(`${prefix}${neutralize(formatResult(result))}`),
  };
}

/**
 * JSON lines: every event and the result as they come, for machines; `host` tags each line in a fleet. Text
 * stays exactly what the agent sent, escaped (jsonLine) so no terminal or runner acts on it.
 */
export function jsonRenderer(write: Write, host?: string): Renderer & { result(result: DeployResult): void } {
  const tag = host ? { host } : {};
  return {
    accepted: (deployId, command) => write(jsonLine({ type: "accepted", ...tag, deployId, command })),
    event: (event) => write(jsonLine({ type: "event", ...tag, ...event })),
    reconnecting: (attempt, delayMs, reason) =>
      write(jsonLine({ type: "reconnecting", ...tag, attempt, delayMs, reason })),
    result: (result) => write(jsonLine({ type: "result", ...tag, ...result })),
  };
}

export function formatStatus(status: StatusMessage): string {
  const lines = [
    `${status.service}: ${status.live ? `release ${status.live.release} live (${status.live.colour})` : "nothing deployed"}`,
  ];
  const rows = [...status.releases]
    .reverse()
    .map((r) => [
      r.id,
      r.kind,
      r.status,
      (r.digest ?? "").replace(/^sha256:/, "").slice(0, 12) || "-",
      r.startedAt.replace("T", " ").slice(0, 19),
      r.by.actor ?? r.by.key ?? "-",
      r.durationMs !== undefined ? formatDuration(r.durationMs) : "-",
      r.error ? (r.error.split(":")[0] ?? "") : "",
    ]);
  const header = ["RELEASE", "KIND", "STATUS", "DIGEST", "STARTED (UTC)", "BY", "TOOK", "ERROR"];
  lines.push(formatTable(header, rows));
  return lines.join("\n");
}

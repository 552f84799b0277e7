import type { DeployEvent, DeployResult } from "./events.js";
import { formatDuration } from "./duration.js";

/** One event as one log line: elapsed time, step, message; the container's own lines indented under the step. */
export function formatEvent(event: DeployEvent, startedAt: number): string {
  const elapsed = ((Date.parse(event.time) - startedAt) / 1000).toFixed(1).padStart(6);
  const step = event.step.padEnd(9);
  const level = event.level === "warn" ? "warning: " : event.level === "error" ? "error: " : "";
  if (event.source === "container") return `${elapsed}s ${step}   │ ${event.message}`;
  return `${elapsed}s ${step} ${level}${event.message}`;
}

export function formatResult(result: DeployResult): string {
  const took = formatDuration(result.durations.total);
  const each = result.services
    ?.map((s) => `${s.service} ${s.status.replace("_", " ")}${s.release ? ` (release ${s.release})` : ""}`)
    .join(", ");
  if (result.status === "succeeded") {
    if (each) return `✔ ${result.service}: ${each}; ${result.digest ?? "no digest"} in ${took}`;
    return `✔ ${result.service}: release ${result.release ?? "?"} is live (${result.digest ?? "no digest"}) in ${took}`;
  }
  if (each) return `${formatFailure(result)} (${each})`;
  return formatFailure(result);
}

function formatFailure(result: DeployResult): string {
  const where = result.error?.step ? ` at ${result.error.step}` : "";
  // Rolled back: the new release took traffic before it failed, and the previous one serves again.
  const what = result.status === "rolled_back" ? "rolled back" : result.status;
  return `✘ ${result.service}: ${what}${where}: [${result.error?.code ?? "UNKNOWN"}] ${result.error?.message ?? ""}`;
}

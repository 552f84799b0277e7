import { STEPS, type DeployResult } from "../../shared/events.js";
import type { FleetReport } from "../fleet/fleet.js";

/**
 * Each host's deploy as a timeline of its steps: a Mermaid `gantt` block, which GitHub renders in a job summary.
 * Steps are laid end to end from the result's durations (the pull overlaps the queue in truth; the bars show
 * where the time went, not a trace). Only step names and numbers are written: nothing from the agent is text
 * in the diagram, and host names are reduced to the characters Mermaid takes as plain words.
 */
export function timelineMermaid(report: FleetReport): string | undefined {
  const hosts = report.hosts.filter((h): h is typeof h & { result: DeployResult } => Boolean(h.result));
  if (hosts.length === 0) return undefined;
  const lines = ["```mermaid", "gantt", "  dateFormat x", "  axisFormat %M:%S"];
  hosts.forEach((host, index) => {
    lines.push(`  section ${host.host.replace(/[^A-Za-z0-9._-]/g, "_") || `host ${index + 1}`}`);
    let at = 0;
    for (const step of STEPS) {
      const ms = host.result.durations[step as keyof DeployResult["durations"]];
      if (typeof ms !== "number" || ms <= 0) continue;
      const end = at + Math.max(1, Math.round(ms));
      lines.push(`  ${step} ${Math.round(ms)} ms :h${index}${step}, ${at}, ${end}`);
      at = end;
    }
  });
  lines.push("```", "");
  return lines.join("\n");
}

import type { DeployEvent, DeployResult } from "../../shared/events.js";
import { formatEvent, formatResult } from "../../shared/format-event.js";
import { formatDuration } from "../../shared/duration.js";
import type { Command } from "../../shared/protocol.js";
import type { Renderer } from "../client/client.js";
import { neutralize } from "../../shared/neutralize.js";

/** The few workflow commands the renderer issues; @actions/core in the action, a recorder in tests. */
export interface WorkflowCommands {
  startGroup(name: string): void;
  endGroup(): void;
  warning(message: string, title: string): void;
  error(message: string, title: string): void;
}

/**
 * GitHub Actions rendering: one collapsible group per deploy step, warnings and errors as annotations. Every
 * relayed line (the agent's words, the container's output) is flattened to one line that starts with the
 * elapsed time, so none can begin with `::` and act as a workflow command; annotation text is escaped by
 * @actions/core.
 */
export function githubRenderer(
  write: (line: string) => void,
  commands: WorkflowCommands,
  host: string,
): Renderer & { result(result: DeployResult): void; close(): void } {
  const startedAt = Date.now();
  let group: string | undefined;
  const close = () => {
    if (group) commands.endGroup();
    group = undefined;
  };
  return {
    accepted: (deployId: string, command: Command) => write(`${host}: ${command} accepted as ${deployId}`),
    event: (event: DeployEvent) => {
      if (event.level === "debug") return;
      if (event.step !== group) {
        close();
        group = event.step;
        commands.startGroup(`${host} · ${event.step}`);
      }
      const message = neutralize(event.message);
      write(formatEvent({ ...event, message }, startedAt));
      if (event.source === "agent" && event.level === "warn")
        commands.warning(message, `${host} · ${event.step}`);
      // Errors are annotated once per host, with the result (by the Action), not at every error line.
    },
    reconnecting: (attempt: number, delayMs: number, reason: string) =>
      write(
        `${host}: connection lost (${neutralize(reason)}); reconnecting in ${formatDuration(delayMs)} (attempt ${attempt})`,
      ),
    result: (result: DeployResult) => {
      close();
      write(`${host}: ${neutralize(formatResult(result))}`);
    },
    close,
  };
}

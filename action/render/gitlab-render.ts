import type { DeployEvent, DeployResult } from "../../shared/events.js";
import type { Command } from "../../shared/protocol.js";
import type { Renderer } from "../client/client.js";
import { plainRenderer, type Write } from "./render.js";
import { neutralize } from "../../shared/neutralize.js";

const ESC = "\u001b";

/**
 * GitLab CI rendering: the plain lines, inside one collapsible section per deploy step. Relayed text is
 * neutralised by the plain renderer (no escape or carriage-return characters, `section_start:` broken), so it
 * cannot open or close a section of its own; only the markers go out through `markers` unneutralised.
 */
export function gitlabRenderer(
  write: Write,
  options: { debug?: boolean; prefix?: string; now?: () => number } = {},
  markers: Write = write,
): Renderer & { result(result: DeployResult): void } {
  const plain = plainRenderer(write, options);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let open: string | undefined;
  let count = 0;
  const close = () => {
    if (open) markers(`${ESC}[0Ksection_end:${now()}:${open}\r${ESC}[0K`);
    open = undefined;
  };
  return {
    accepted: (deployId: string, command: Command) => plain.accepted(deployId, command),
    event: (event: DeployEvent) => {
      if (event.level === "debug" && !options.debug) return;
      if (!open || !open.startsWith(`greenlight_${event.step}_`)) {
        close();
        count += 1;
        open = `greenlight_${event.step}_${count}`;
        const collapsed = event.step === "pull" ? "[collapsed=true]" : "";
        const title = options.prefix ? `${options.prefix} · ${event.step}` : event.step;
        markers(`${ESC}[0Ksection_start:${now()}:${open}${collapsed}\r${ESC}[0K${neutralize(title)}`);
      }
      plain.event(event);
    },
    reconnecting: (attempt, delayMs, reason) => plain.reconnecting(attempt, delayMs, reason),
    result: (result: DeployResult) => {
      close();
      plain.result(result);
    },
  };
}

import { neutralize } from "../../shared/neutralize.js";

export type Write = (line: string) => void;

/**
 * The one way text reaches the CI log or terminal: each line neutralised (no escapes, controls, workflow
 * commands or section markers can form, whatever the agent or a container sent). Only the renderers' own
 * markers (GitLab sections) and JSON lines (escaped by jsonLine) go out raw.
 */
export function lineWriter(out: NodeJS.WritableStream = process.stdout): { text: Write; raw: Write } {
  return {
    text: (text) => {
      for (const line of text.split("\n")) out.write(`${neutralize(line, Number.MAX_SAFE_INTEGER)}\n`);
    },
    raw: (line) => out.write(`${line}\n`),
  };
}

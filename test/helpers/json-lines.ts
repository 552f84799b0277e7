import type { Readable } from "node:stream";

/** Calls `onLine` with each JSON object a child prints, one per line; other lines are left to the caller. */
export function onJsonLines(stream: Readable | null, onLine: (line: Record<string, unknown>) => void): void {
  let pending = "";
  stream?.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let index: number;
    while ((index = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, index);
      pending = pending.slice(index + 1);
      if (line.startsWith("{")) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  });
}

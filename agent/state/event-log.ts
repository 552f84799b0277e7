import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DeployEvent, DeployResult } from "../../shared/events.js";

export type EventInput = Omit<DeployEvent, "seq" | "time">;
export type LogEntry = { type: "event"; event: DeployEvent } | { type: "result"; result: DeployResult };

/**
 * The ordered log of one deploy: kept in memory for live listeners and appended to
 * `state_dir/deploys/<id>.jsonl`, so a client that re-attaches (even after an agent restart) misses nothing.
 */
export class DeployLog {
  readonly events: DeployEvent[] = [];
  result: DeployResult | undefined;
  private readonly listeners = new Set<(entry: LogEntry) => void>();
  private settle: (result: DeployResult) => void = () => undefined;
  /** Resolves with the result once the deploy has ended. */
  readonly done = new Promise<DeployResult>((resolve) => {
    this.settle = resolve;
  });
  private readonly file: WriteStream;

  private constructor(
    readonly deployId: string,
    path: string,
  ) {
    this.file = createWriteStream(path, { flags: "a", mode: 0o640 });
    this.file.on("error", () => undefined);
  }

  static async open(stateDir: string, service: string, deployId: string): Promise<DeployLog> {
    const dir = join(stateDir, "deploys", service);
    await mkdir(dir, { recursive: true, mode: 0o750 });
    return new DeployLog(deployId, join(dir, `${deployId}.jsonl`));
  }

  append(input: EventInput): DeployEvent {
    const event = DeployEvent.parse({
      ...input,
      seq: this.events.length + 1,
      time: new Date().toISOString(),
    });
    this.events.push(event);
    this.emit({ type: "event", event });
    return event;
  }

  async finish(result: DeployResult): Promise<void> {
    this.result = result;
    this.emit({ type: "result", result });
    this.settle(result);
    await new Promise<void>((resolve) => this.file.end(resolve));
  }

  subscribe(listener: (entry: LogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(entry: LogEntry): void {
    this.file.write(`${JSON.stringify(entry)}\n`);
    for (const listener of this.listeners) listener(entry);
  }
}

/** Reads a finished (or interrupted) deploy's log back from disk. */
export async function readDeployLog(
  stateDir: string,
  service: string,
  deployId: string,
): Promise<{ events: DeployEvent[]; result?: DeployResult } | undefined> {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(deployId)) return undefined;
  let text: string;
  try {
    text = await readFile(join(stateDir, "deploys", service, `${deployId}.jsonl`), "utf8");
  } catch {
    return undefined;
  }
  const events: DeployEvent[] = [];
  let result: DeployResult | undefined;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as LogEntry;
      if (entry.type === "event") events.push(DeployEvent.parse(entry.event));
      else result = DeployResult.parse(entry.result);
    } catch {
      // A torn last line from a crash: everything before it is intact.
    }
  }
  return result ? { events, result } : { events };
}

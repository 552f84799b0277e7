import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { DeployEvent, DeployResult } from "../../shared/events.js";
import { MAX_EVENT_MESSAGE_CHARS } from "../../shared/limits.js";

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

  /** Opens a new deploy's log, first pruning the service's older logs to `retention`. */
  static async open(
    stateDir: string,
    service: string,
    deployId: string,
    retention: LogRetention,
  ): Promise<DeployLog> {
    const dir = join(stateDir, "deploys", service);
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await pruneDeployLogs(dir, retention, Date.now()).catch(() => undefined);
    return new DeployLog(deployId, join(dir, `${deployId}.jsonl`));
  }

  /** Never throws: an event that does not fit the schema is kept as an agent error that says so. */
  append(input: EventInput): DeployEvent {
    const seq = this.events.length + 1;
    const time = new Date().toISOString();
    const message =
      input.message.length > MAX_EVENT_MESSAGE_CHARS
        ? `${input.message.slice(0, MAX_EVENT_MESSAGE_CHARS - 20)} … [message cut]`
        : input.message;
    const parsed = DeployEvent.safeParse({ ...input, message, seq, time });
    const event: DeployEvent = parsed.success
      ? parsed.data
      : {
          seq,
          time,
          step: input.step,
          level: "error",
          source: "agent",
          message: `an event of step ${input.step} could not be recorded: ${parsed.error.issues[0]?.message ?? "invalid"}`,
        };
    this.events.push(event);
    this.emit({ type: "event", event });
    return event;
  }

  /**
   * The result, to listeners and on disk; events may still follow (the old colour's stop runs after the result
   * is reported) until `close`.
   */
  report(result: DeployResult): void {
    if (this.result) return;
    this.result = result;
    this.emit({ type: "result", result });
    this.settle(result);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.file.end(resolve));
  }

  async finish(result: DeployResult): Promise<void> {
    this.report(result);
    await this.close();
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

export interface LogRetention {
  /** Logs kept per service, newest first; the new deploy's own is one more. */
  keep: number;
  /** Logs older than this are removed. */
  maxAgeMs: number;
}

/** Removes a service's deploy logs beyond the newest `keep` and any older than `maxAgeMs`. */
export async function pruneDeployLogs(dir: string, retention: LogRetention, now: number): Promise<number> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(".jsonl"));
  const logs = await Promise.all(
    names.map(async (name) => ({ name, mtime: (await stat(join(dir, name))).mtimeMs })),
  );
  logs.sort((a, b) => b.mtime - a.mtime);
  const doomed = logs.filter((log, index) => index >= retention.keep || now - log.mtime > retention.maxAgeMs);
  await Promise.all(doomed.map((log) => unlink(join(dir, log.name)).catch(() => undefined)));
  return doomed.length;
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

import { appendFile, mkdir, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod/mini";

/** One line of the audit log: a request the agent accepted or refused, or how an accepted deploy ended. */
export const AuditRecord = z.object({
  time: z.string(),
  /** accepted | rejected: the request; succeeded | failed | rolled_back: the deploy it started, when it ended. */
  outcome: z.string(),
  command: z.optional(z.string()),
  service: z.optional(z.string()),
  peer: z.optional(z.string()),
  identity: z._default(z.record(z.string(), z.string()), {}),
  image: z.optional(z.string()),
  digest: z.optional(z.string()),
  release: z.optional(z.string()),
  deployId: z.optional(z.string()),
  code: z.optional(z.string()),
  message: z.optional(z.string()),
  durationMs: z.optional(z.number()),
  /** The client's version as it signed it. */
  clientVersion: z.optional(z.string()),
  /** Refusals: how many alike (same address and code) this record stands for. */
  count: z.optional(z.number()),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

export const AUDIT_MAX_BYTES = 10 * 1024 * 1024;
export const AUDIT_KEEP_FILES = 5;

/**
 * `state_dir/audit/<name>.jsonl`, append-only JSON lines, rotated by size (<name>.1.jsonl is the newest old
 * file) so it never grows without bound. Appends are serialized; a failed write is reported, never thrown at
 * the request that caused it. Accepted requests and their outcomes go to `audit`, refusals to `refused`, so
 * no flood of refusals can rotate an accepted request out.
 */
export class AuditLog {
  private readonly dir: string;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly maxBytes = AUDIT_MAX_BYTES,
    private readonly keep = AUDIT_KEEP_FILES,
    private readonly onError: (error: Error) => void = () => undefined,
    private readonly name = "audit",
  ) {
    this.dir = join(stateDir, "audit");
  }

  append(
    record: Omit<AuditRecord, "time" | "identity"> & { identity?: Record<string, string> },
  ): Promise<void> {
    const line = `${JSON.stringify({ time: new Date().toISOString(), identity: {}, ...record })}\n`;
    this.queue = this.queue.then(() => this.write(line)).catch((error: Error) => this.onError(error));
    return this.queue;
  }

  /** Every record still kept, oldest first, optionally for one service and from a time on. */
  async read(filter: { service?: string; since?: Date } = {}): Promise<AuditRecord[]> {
    await this.queue;
    const files = [...Array.from({ length: this.keep }, (_, i) => this.file(this.keep - i)), this.file(0)];
    const records: AuditRecord[] = [];
    for (const file of files) {
      const text = await readFile(file, "utf8").catch(() => "");
      for (const line of text.split("\n")) {
        if (!line) continue;
        const parsed = AuditRecord.safeParse(JSON.parse(line));
        if (!parsed.success) continue;
        const record = parsed.data;
        if (filter.service && record.service !== filter.service) continue;
        if (filter.since && Date.parse(record.time) < filter.since.getTime()) continue;
        records.push(record);
      }
    }
    return records;
  }

  private file(index: number): string {
    return join(this.dir, index === 0 ? `${this.name}.jsonl` : `${this.name}.${index}.jsonl`);
  }

  private async write(line: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
    const size = await stat(this.file(0)).then(
      (s) => s.size,
      () => 0,
    );
    if (size > 0 && size + Buffer.byteLength(line) > this.maxBytes) {
      for (let i = this.keep - 1; i >= 0; i -= 1) {
        await rename(this.file(i), this.file(i + 1)).catch(() => undefined);
      }
    }
    await appendFile(this.file(0), line, { mode: 0o640 });
  }
}

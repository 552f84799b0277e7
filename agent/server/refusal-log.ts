import type { AuditLog, AuditRecord } from "../state/audit-log.js";

type Refusal = Omit<AuditRecord, "time" | "identity" | "outcome" | "count"> & {
  peer: string;
  code: string;
  identity?: Record<string, string>;
};

/** Distinct (address, code) pairs counted at once; past it, a flood of addresses is counted as one line. */
const MAX_PAIRS = 1000;

/**
 * Refused requests, aggregated: the first refusal of an address with a code in a minute is written whole, the
 * rest of that minute are counted and written as one line (`count`) when the minute ends. A flood costs a line
 * per address and minute, in a file of its own.
 */
export class RefusalLog {
  private readonly counts = new Map<string, { refusal: Refusal; count: number }>();
  private overflow = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: AuditLog,
    windowMs = 60_000,
  ) {
    this.timer = setInterval(() => void this.flush(), windowMs);
    this.timer.unref();
  }

  record(refusal: Refusal): void {
    const key = `${refusal.peer} ${refusal.code}`;
    const seen = this.counts.get(key);
    if (seen) {
      seen.count += 1;
      return;
    }
    if (this.counts.size >= MAX_PAIRS) {
      this.overflow += 1;
      return;
    }
    this.counts.set(key, { refusal, count: 0 });
    void this.log.append({ outcome: "rejected", ...refusal });
  }

  /** Writes what was counted since the last flush. */
  async flush(): Promise<void> {
    const pending = [...this.counts.values()].filter((entry) => entry.count > 0);
    const overflow = this.overflow;
    this.counts.clear();
    this.overflow = 0;
    for (const { refusal, count } of pending) {
      await this.log.append({
        outcome: "rejected",
        peer: refusal.peer,
        code: refusal.code,
        message: "more refusals like the one above",
        count,
      });
    }
    if (overflow > 0) {
      await this.log.append({
        outcome: "rejected",
        code: "MANY_ADDRESSES",
        message: `refusals from more than ${MAX_PAIRS} address/code pairs in one window`,
        count: overflow,
      });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

import { neutralize } from "../../shared/neutralize.js";
import {
  CONTAINER_LINES_BURST,
  CONTAINER_LINES_PER_SECOND,
  MAX_CONTAINER_BYTES_PER_DEPLOY,
  MAX_CONTAINER_LINES_PER_DEPLOY,
} from "../../shared/limits.js";

export type OutputStream = "stdout" | "stderr";

export interface OutputBudget {
  burst: number;
  perSecond: number;
  maxLines: number;
  maxBytes: number;
}

export const DEFAULT_BUDGET: OutputBudget = {
  burst: CONTAINER_LINES_BURST,
  perSecond: CONTAINER_LINES_PER_SECOND,
  maxLines: MAX_CONTAINER_LINES_PER_DEPLOY,
  maxBytes: MAX_CONTAINER_BYTES_PER_DEPLOY,
};

export interface OutputSink {
  line(text: string, stream: OutputStream): void;
  /** What was left out, said by the agent. */
  note(message: string): void;
}

export interface OutputClock {
  now(): number;
  /** Runs `work` once after `ms`; the returned function cancels it. */
  after(ms: number, work: () => void): () => void;
}

const realClock: OutputClock = {
  now: () => Date.now(),
  after: (ms, work) => {
    const timer = setTimeout(work, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

const count = (n: number) => n.toLocaleString("en-US");
const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/**
 * A container's output as a deploy relays it. A container is untrusted and may print anything at any rate, so
 * each line is neutralised and cut, lines pass at a bounded rate (a burst, then a steady flow) and up to a
 * per-deploy budget; what is held back is counted and said once a second, never kept. The deploy goes on.
 */
export class ContainerOutput {
  private tokens: number;
  private refilledAt: number;
  private lines = 0;
  private bytes = 0;
  private dropped = { lines: 0, bytes: 0, reason: "" };
  private cancelSummary: (() => void) | undefined;

  constructor(
    private readonly sink: OutputSink,
    private readonly budget: OutputBudget = DEFAULT_BUDGET,
    private readonly clock: OutputClock = realClock,
  ) {
    this.tokens = budget.burst;
    this.refilledAt = clock.now();
  }

  /** One line as the splitter cut it: its first bytes and how many more it had. */
  line(bytes: Buffer, cutBytes: number, stream: OutputStream): void {
    const reason = this.refusal(bytes.length);
    if (reason) {
      this.dropped.lines += 1;
      this.dropped.bytes += bytes.length + cutBytes;
      this.dropped.reason = reason;
      this.cancelSummary ??= this.clock.after(1000, () => this.summarize());
      return;
    }
    this.tokens -= 1;
    this.lines += 1;
    this.bytes += bytes.length;
    const text = neutralize(bytes.toString("utf8"));
    this.sink.line(cutBytes > 0 ? `${text} … [line cut: ${count(cutBytes)} more bytes]` : text, stream);
  }

  /** Says what was held back, if anything; call it when the container's output is no longer followed. */
  close(): void {
    this.summarize();
  }

  private refusal(length: number): string | undefined {
    if (this.lines >= this.budget.maxLines || this.bytes + length > this.budget.maxBytes) {
      return `this deploy keeps at most ${count(this.budget.maxLines)} lines and ${size(this.budget.maxBytes)} of container output`;
    }
    const now = this.clock.now();
    this.tokens = Math.min(
      this.budget.burst,
      this.tokens + ((now - this.refilledAt) / 1000) * this.budget.perSecond,
    );
    this.refilledAt = now;
    if (this.tokens < 1)
      return `the container printed more than ${count(this.budget.perSecond)} lines a second`;
    return undefined;
  }

  private summarize(): void {
    this.cancelSummary?.();
    this.cancelSummary = undefined;
    const { lines, bytes, reason } = this.dropped;
    if (lines === 0) return;
    this.dropped = { lines: 0, bytes: 0, reason: "" };
    this.sink.note(`… ${count(lines)} container line(s) (${size(bytes)}) not shown: ${reason}`);
  }
}

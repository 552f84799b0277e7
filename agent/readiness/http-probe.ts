import { request } from "node:http";
import { GreenlightError, asGreenlightError } from "../../shared/errors.js";

export interface HealthTarget {
  url: string;
  intervalMs: number;
  timeoutMs: number;
  requestTimeoutMs: number;
  /** Checked between attempts so a crashed container fails fast instead of waiting for the deadline. */
  exitState: () => Promise<{ running: boolean; exitCode: number | null }>;
  onAttempt?: (outcome: string, attempt: number) => void;
  signal?: AbortSignal;
}

/**
 * One GET that must be answered whole — status, headers and body — within `timeoutMs`: the socket's idle
 * timeout alone would let an answer that trickles a byte at a time hold the deploy forever.
 */
export function probe(url: string, timeoutMs: number): Promise<string | number> {
  return new Promise((resolve) => {
    const req = request(url, { method: "GET", headers: { connection: "close" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", (error) => resolve(error.message));
    });
    const deadline = setTimeout(
      () => req.destroy(new Error(`no complete answer within ${timeoutMs}ms`)),
      timeoutMs,
    );
    req.on("close", () => clearTimeout(deadline));
    req.on("error", (error) => resolve((error as NodeJS.ErrnoException).code ?? error.message));
    req.end();
  });
}

/** Polls the health URL until it answers 2xx; fails when the deadline passes or the container exits. */
export async function waitHealthy(target: HealthTarget): Promise<{ attempts: number; elapsedMs: number }> {
  const started = Date.now();
  let attempts = 0;
  let last: string | number = "no attempt";
  for (;;) {
    attempts += 1;
    const remaining = Math.max(1, target.timeoutMs - (Date.now() - started));
    last = await probe(target.url, Math.min(target.requestTimeoutMs, remaining));
    if (typeof last === "number" && last >= 200 && last < 300) {
      return { attempts, elapsedMs: Date.now() - started };
    }
    target.onAttempt?.(typeof last === "number" ? `HTTP ${last}` : last, attempts);
    const state = await target.exitState();
    if (!state.running) {
      throw new GreenlightError(
        "CONTAINER_EXITED",
        `the new container exited (code ${state.exitCode ?? "unknown"}) before it became healthy`,
        { exitCode: state.exitCode },
      );
    }
    if (target.signal?.aborted) throw asGreenlightError(target.signal.reason, "CANCELLED");
    if (Date.now() - started + target.intervalMs > target.timeoutMs) {
      throw new GreenlightError(
        "HEALTH_TIMEOUT",
        `health check ${target.url} got ${typeof last === "number" ? `HTTP ${last}` : last} for ${Math.round((Date.now() - started) / 1000)}s (deadline ${Math.round(target.timeoutMs / 1000)}s)`,
        { last: String(last), attempts },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, target.intervalMs));
  }
}

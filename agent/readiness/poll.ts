import { formatDuration } from "../../shared/duration.js";
import type { ServiceConfig } from "../config/schema.js";
import type { Instance, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { GreenlightError, asGreenlightError } from "../../shared/errors.js";

/** One check: true when ready, else what it saw ("HTTP 503", "ECONNREFUSED", "starting"). */
export type Check = (timeoutMs: number) => Promise<true | string>;

export interface PollTarget {
  /** What is checked, for the messages: "http://10.0.0.3:8080/healthz", "tcp 10.0.0.3:5432". */
  what: string;
  check: Check;
  intervalMs: number;
  timeoutMs: number;
  /** Longest single check; the overall deadline bounds it too. */
  requestTimeoutMs: number;
  /** Checked between attempts so a crashed container fails fast instead of waiting for the deadline. */
  exitState: () => Promise<{ running: boolean; exitCode: number | null }>;
  onAttempt?: (outcome: string, attempt: number) => void;
  signal?: AbortSignal;
}

/** Checks until ready; fails when the deadline passes, the container exits, or the deploy is cancelled. */
export async function pollUntilReady(target: PollTarget): Promise<{ attempts: number; elapsedMs: number }> {
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const remaining = Math.max(1, target.timeoutMs - (Date.now() - started));
    const last = await target.check(Math.min(target.requestTimeoutMs, remaining));
    if (last === true) return { attempts, elapsedMs: Date.now() - started };
    target.onAttempt?.(last, attempts);
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
        `health check ${target.what} got ${last} for ${Math.round((Date.now() - started) / 1000)}s (deadline ${Math.round(target.timeoutMs / 1000)}s)`,
        { last, attempts },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, target.intervalMs));
  }
}

/**
 * Polls one instance with the service's health timings (interval, deadline, per-check timeout), failing fast
 * when it exits, and says when it is ready: what every readiness adapter does around its own check.
 */
export async function pollInstance(
  target: { runtime: Runtime; health: ServiceConfig["health"]; instance: Instance; log: StepLogger },
  probe: { what: string; check: Check; ready: string; onAttempt?: PollTarget["onAttempt"] },
  signal?: AbortSignal,
): Promise<{ attempts: number; elapsedMs: number }> {
  const { runtime, health, instance, log } = target;
  const outcome = await pollUntilReady({
    what: probe.what,
    check: probe.check,
    intervalMs: health.interval,
    timeoutMs: health.timeout,
    requestTimeoutMs: health.request_timeout,
    exitState: () => runtime.exitState(instance.id),
    ...(probe.onAttempt ? { onAttempt: probe.onAttempt } : {}),
    ...(signal ? { signal } : {}),
  });
  log.info(`${probe.ready} after ${formatDuration(outcome.elapsedMs)} (${outcome.attempts} checks)`);
  return outcome;
}

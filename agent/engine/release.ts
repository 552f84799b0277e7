import type { DeployResult, Durations } from "../../shared/events.js";
import { beginRelease } from "./begin.js";
import { assertImageAllowed, type ReleaseRequest } from "./request.js";
import { formatDuration } from "../../shared/duration.js";
import { ContainerOutput } from "./container-output.js";
import { acquireServiceLock } from "./lock.js";
import { runPlan, type PlanStep } from "./plan.js";
import { finishAfterResult, servingNow } from "./release-end.js";
import type { ReleaseRun } from "./release-run.js";
import type { ServicePorts } from "./ports.js";
import { StepLogger, type EventSink } from "./step-logger.js";
import { drain } from "./steps/drain.js";
import { haltFirst } from "./steps/halt.js";
import { health } from "./steps/health.js";
import { pull } from "./steps/pull.js";
import { record } from "./steps/record.js";
import { releasePhase } from "./steps/release-phase.js";
import { rollout } from "./steps/rollout.js";
import { start } from "./steps/start.js";
import { stop } from "./steps/stop.js";
import { switchTraffic } from "./steps/switch.js";
import { verify } from "./steps/verify.js";

/** The deploy, in order, up to its result. Every step before `record` is undone when a later one fails. */
export const RELEASE_PLAN: PlanStep<ReleaseRun>[] = [
  pull,
  releasePhase,
  haltFirst,
  start,
  health,
  switchTraffic,
  verify,
  record,
  drain,
];

/**
 * After the result is reported, still under the service's lock: the drained old colour stops. Its stop grace
 * (the whole of it, for an app that ignores its stop signal) is no longer part of every deploy's time, and
 * the next deploy of the service waits until the old colour is gone.
 */
export const AFTER_RESULT: PlanStep<ReleaseRun>[] = [stop];

/** A service an orchestrator rolls (Swarm): it starts, checks, moves and stops; the agent asks and follows. */
export const ROLLOUT_PLAN: PlanStep<ReleaseRun>[] = [pull, releasePhase, rollout, record];

export interface ReleaseOptions {
  stateDir: string;
  /** Told the result as soon as it is known, before the steps after it run. */
  report?: (result: DeployResult) => void;
  /** The caller holds the service's lock already (an app's deploy holds all of its services'). */
  locked?: boolean;
}

/** Steps that move traffic: a failure once one of them has completed is a roll back, not only a failure. */
const MOVES_TRAFFIC = new Set(["switch"]);

/**
 * One release of one service under its lock: the pull starts while the agent reconciles, the release is
 * recorded in progress, then the plan runs; the result says how it ended, and the history agrees.
 */
export async function runReleasePlan(
  ports: ServicePorts,
  request: ReleaseRequest,
  sink: EventSink,
  options: ReleaseOptions,
): Promise<DeployResult> {
  const log = new StepLogger(sink);
  const started = Date.now();
  const durations: Durations = { total: 0 };
  const base = { deployId: request.deployId, service: ports.name, image: request.image };
  assertImageAllowed(ports, request.image);
  log.at("queue").info(`${request.kind} ${request.image} to ${ports.name} (${request.deployId})`);
  const queued = Date.now();
  const lock = options.locked
    ? { release: async () => undefined }
    : await acquireServiceLock(options.stateDir, ports.name, request.deployId, {
        timeoutMs: ports.config.lock_timeout,
        signal: request.signal,
        onWait: (owner) => log.info(`waiting for deploy ${owner.deployId} of ${ports.name} to finish`),
      });
  durations.queue = Date.now() - queued;
  const output = new ContainerOutput({
    line: (text, stream) => log.container(text, stream),
    note: (message) => log.info(message),
  });
  let run: ReleaseRun | undefined;
  // The container's output ends with the plan, before the result is reported (and at the latest on the way out).
  const quiet = () => {
    run?.stopOutput?.();
    if (run) delete run.stopOutput;
    output.close();
  };
  try {
    run = await beginRelease(ports, request, log, output, durations);
    const plan = ports.rollout ? ROLLOUT_PLAN : RELEASE_PLAN;
    const outcome = await runPlan(plan, run, log, durations, request.signal);
    quiet();
    if (run.drainTail !== undefined) durations.drainTail = run.drainTail;
    durations.total = Date.now() - started;
    const error = outcome.error;
    await ports.store
      .update((s) => {
        const entry = s.records.find((r) => r.id === run?.releaseId);
        if (!entry) return;
        entry.finishedAt = new Date().toISOString();
        entry.durations = durations;
        if (error && entry.status === "in_progress") {
          entry.status = "failed";
          entry.error = { code: error.code, message: error.message, step: outcome.failedAt ?? "queue" };
        }
      })
      // A full disk must not turn an outcome into no outcome: the next reconcile records it as interrupted.
      .catch((e: unknown) => log.warn(`could not record how release ${run?.releaseId} ended: ${String(e)}`));
    if (error) {
      const serving = await servingNow(ports);
      const result: DeployResult = {
        ...base,
        // Traffic reached the new release before the failure: it served, and was rolled back.
        status:
          run.tookTraffic || outcome.completed.some((step) => MOVES_TRAFFIC.has(step))
            ? "rolled_back"
            : "failed",
        release: run.releaseId,
        ...(run.pulled ? { digest: run.pulled.digest } : {}),
        durations,
        ...(serving ? { serving, previousRelease: serving.release } : {}),
        error: { code: error.code, message: error.message, step: outcome.failedAt ?? "queue" },
      };
      options.report?.(result);
      return result;
    }
    log.at("record").info(`release ${run.releaseId} is live (${formatDuration(durations.total)})`);
    const result: DeployResult = {
      ...base,
      status: "succeeded",
      release: run.releaseId,
      ...(run.pulled ? { digest: run.pulled.digest } : {}),
      colour: run.colour,
      ...(run.live ? { previousRelease: run.live.release } : {}),
      serving: { release: run.releaseId, ...(run.pulled ? { digest: run.pulled.digest } : {}) },
      durations,
    };
    options.report?.(result);
    await finishAfterResult(run, durations, ports.rollout ? [] : AFTER_RESULT);
    return result;
  } finally {
    quiet();
    await lock.release();
  }
}

import type { Step } from "../../shared/events.js";
import { asGreenlightError, type GreenlightError } from "../../shared/errors.js";
import type { StepLogger } from "./step-logger.js";

/**
 * One step of a deploy: what it does, and what undoes it if it or a later step fails (so an undo must be safe
 * after a partial run: a container that was never created, a switch that never moved). A step that `commits` makes
 * everything before it permanent: from there on a failure is reported, nothing is undone (the release is
 * recorded live; the old colour may go).
 */
export interface PlanStep<Run> {
  name: Step;
  /** Skipped when false (verify without a verify config, drain on a first deploy). */
  when?(run: Run): boolean;
  run(run: Run): Promise<void>;
  undo?(run: Run, error: GreenlightError): Promise<void>;
  commits?: boolean;
  /** The step times itself (the pull runs before the plan and is only awaited here). */
  timedElsewhere?: boolean;
  /**
   * A cancel may abandon it midway (a pull: nothing to undo). Other steps either take the cancel themselves
   * (health, verify) or are short; the cancel then fails the next step before it begins.
   */
  abandonable?: boolean;
}

export interface PlanOutcome {
  /** The step that failed, when one did. */
  failedAt?: Step;
  error?: GreenlightError;
  /** The steps that ran to their end, in order. */
  completed: Step[];
  /** Undo calls that failed themselves: left for reconcile. */
  undoFailures: { step: Step; error: GreenlightError }[];
}

/**
 * Runs the steps in order, timing each into `durations`. When one fails, it and the completed steps since the
 * last commit are undone in reverse order; a failing undo is logged and the others still run.
 */
export async function runPlan<Run>(
  steps: PlanStep<Run>[],
  run: Run,
  log: StepLogger,
  durations: Partial<Record<Step, number>>,
  signal?: AbortSignal,
): Promise<PlanOutcome> {
  const completed: Step[] = [];
  let undoable: PlanStep<Run>[] = [];
  let committed = false;
  const lateCancel = () => {
    if (committed) log.warn("cancel arrived after the release went live: nothing is undone");
  };
  signal?.addEventListener("abort", lateCancel, { once: true });
  try {
    for (const step of steps) {
      if (step.when && !step.when(run)) continue;
      log.at(step.name);
      const started = Date.now();
      try {
        if (signal?.aborted && !committed) throw signal.reason;
        await (step.abandonable && signal && !committed
          ? abandonOnAbort(step.run(run), signal)
          : step.run(run));
      } catch (thrown) {
        // A step cut short by a cancel fails because of the cancel, whatever it threw on the way out.
        const error = asGreenlightError(signal?.aborted && !committed ? signal.reason : thrown);
        if (!step.timedElsewhere) durations[step.name] = Date.now() - started;
        log.error(error.message, { code: error.code });
        // The failed step is undone too: it may have done part of its work (a container created, then exited).
        const undoFailures = await undo([...undoable, step], run, error, log);
        return { failedAt: step.name, error, completed, undoFailures };
      }
      if (!step.timedElsewhere) durations[step.name] = Date.now() - started;
      completed.push(step.name);
      committed ||= step.commits === true;
      undoable = step.commits ? [] : [...undoable, step];
    }
    return { completed, undoFailures: [] };
  } finally {
    signal?.removeEventListener("abort", lateCancel);
  }
}

function abandonOnAbort(work: Promise<void>, signal: AbortSignal): Promise<void> {
  // The abandoned work may still settle later; its outcome no longer matters.
  work.catch(() => undefined);
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason as unknown);
    signal.addEventListener("abort", abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

async function undo<Run>(
  steps: PlanStep<Run>[],
  run: Run,
  error: GreenlightError,
  log: StepLogger,
): Promise<PlanOutcome["undoFailures"]> {
  const failures: PlanOutcome["undoFailures"] = [];
  for (const step of [...steps].reverse()) {
    if (!step.undo) continue;
    log.at(step.name);
    try {
      await step.undo(run, error);
    } catch (thrown) {
      const failure = asGreenlightError(thrown);
      log.error(`undoing ${step.name} failed: ${failure.message}; reconcile will finish it`);
      failures.push({ step: step.name, error: failure });
    }
  }
  return failures;
}

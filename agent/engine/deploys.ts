import { GreenlightError, asGreenlightError } from "../../shared/errors.js";
import { MAX_QUEUED_DEPLOYS } from "../../shared/limits.js";
import type { DeployEvent, DeployResult } from "../../shared/events.js";
import type { AgentConfig } from "../config/schema.js";
import { DeployLog, readDeployLog } from "../state/event-log.js";
import { notifyAll, type DeployInfo, type DeployObserver, type DeployOptions } from "./deploy-watch.js";
import type { ReleaseOptions } from "./release.js";
import { newDeployId, type ReleaseRequest } from "./request.js";
import type { EventSink } from "./step-logger.js";

/** What a deploy request names: a service, or an app of several; both release the same way. */
export interface Deployable {
  name: string;
  release(request: ReleaseRequest, sink: EventSink, options: ReleaseOptions): Promise<DeployResult>;
}

/**
 * The deploys an agent is running: each with its log (streamed, kept on disk, ending with exactly one result),
 * its cancel, and the work after its result; a cap on how many wait per service.
 */
export class Deploys {
  private readonly active = new Map<string, { service: string; log: DeployLog; cancel: AbortController }>();
  /** Deploys per service running or waiting for its lock. */
  private readonly inFlight = new Map<string, number>();
  private readonly work = new Set<Promise<void>>();
  private readonly observers: DeployObserver[] = [];

  constructor(private readonly config: () => AgentConfig) {}

  observe(observer: DeployObserver): void {
    this.observers.push(observer);
  }

  /** A running or recent deploy of `service`, live; an older one read back from disk. */
  async find(
    service: string,
    deployId: string,
  ): Promise<{ live: DeployLog } | { events: DeployEvent[]; result?: DeployResult } | undefined> {
    const active = this.active.get(deployId);
    if (active) return active.service === service ? { live: active.log } : undefined;
    return readDeployLog(this.config().state_dir, service, deployId);
  }

  /** Undone like any failure if its release is not live yet; false when no such deploy is running. */
  cancel(service: string, deployId: string, by: string): boolean {
    const active = this.active.get(deployId);
    if (!active || active.service !== service || active.log.result) return false;
    if (!active.cancel.signal.aborted) {
      active.log.append({
        step: "queue",
        level: "warn",
        source: "agent",
        message: `cancel requested by ${by}`,
      });
      active.cancel.abort(new GreenlightError("CANCELLED", `cancelled by ${by}; what it had done is undone`));
    }
    return true;
  }

  /** Deploys not yet finished (their result may be out while the old colour stops), for graceful shutdown. */
  running(): Promise<void>[] {
    return [...this.work];
  }

  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }

  /**
   * Opens the deploy's log and runs it (one service's release plan, or an app's); `done` resolves with the
   * result as soon as it is known.
   */
  async launch(
    ctx: Deployable,
    kind: "deploy" | "rollback",
    image: string,
    options: DeployOptions,
    intro?: string,
  ): Promise<{ log: DeployLog; done: Promise<DeployResult> }> {
    const settle = this.admit(ctx.name);
    const config = this.config();
    const deployId = options.deployId ?? newDeployId();
    const retention = { keep: config.deploy_logs.keep, maxAgeMs: config.deploy_logs.max_age };
    const log = await DeployLog.open(config.state_dir, ctx.name, deployId, retention).catch(
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    const cancel = new AbortController();
    this.active.set(deployId, { service: ctx.name, log, cancel });
    const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
    if (intro) log.append({ step: "rollback", level: "info", source: "agent", message: intro });
    const info: DeployInfo = { deployId, service: ctx.name, kind, image, by: options.by ?? {} };
    notifyAll(this.observers, (o) => o.started?.(info));
    const announce = (result: DeployResult) => {
      if (log.result) return;
      log.report(result);
      notifyAll(this.observers, (o) => o.finished?.(info, result));
    };
    const whole = ctx
      .release({ deployId, kind, image, by: info.by, signal }, (event) => log.append(event), {
        stateDir: config.state_dir,
        report: announce,
      })
      .catch((error: unknown): DeployResult => {
        const failure = asGreenlightError(error);
        log.append({ step: "queue", level: "error", source: "agent", message: failure.message });
        const error_ = { code: failure.code, message: failure.message };
        return { deployId, service: ctx.name, status: "failed", durations: { total: 0 }, error: error_ };
      })
      .then(async (result) => {
        announce(result);
        await log.close();
        settle();
        // Once on disk, a finished deploy is read back from there: memory holds only running deploys.
        this.active.delete(deployId);
        this.work.delete(whole);
      });
    this.work.add(whole);
    return { log, done: log.done };
  }

  /** Counts a deploy in before anything awaits, so requests arriving together cannot all slip under the cap. */
  private admit(service: string): () => void {
    const inFlight = this.inFlight.get(service) ?? 0;
    if (inFlight > MAX_QUEUED_DEPLOYS) {
      throw new GreenlightError(
        "DEPLOY_IN_PROGRESS",
        `${service} has a deploy running and ${MAX_QUEUED_DEPLOYS} waiting behind it; try again when one has finished`,
      );
    }
    this.inFlight.set(service, inFlight + 1);
    return () => {
      const left = (this.inFlight.get(service) ?? 1) - 1;
      if (left > 0) this.inFlight.set(service, left);
      else this.inFlight.delete(service);
    };
  }
}

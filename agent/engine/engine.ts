import { GreenlightError, asGreenlightError } from "../../shared/errors.js";
import { MAX_QUEUED_DEPLOYS } from "../../shared/limits.js";
import type { DeployEvent, DeployResult } from "../../shared/events.js";
import type { AgentConfig } from "../config/schema.js";
import { DeployLog, readDeployLog } from "../state/event-log.js";
import type { ReleaseRecord } from "../state/releases.js";
import type { ServicePorts } from "./ports.js";
import { runReleasePlan } from "./release.js";
import { assertImageAllowed, newDeployId } from "./request.js";
import { acquireServiceLock } from "./lock.js";
import { reconcileService } from "./reconcile.js";
import { rollbackTarget } from "./rollback.js";
import { StepLogger, type EventSink } from "./step-logger.js";
import {
  follow,
  notifyAll,
  type DeployInfo,
  type DeployObserver,
  type DeployOptions,
} from "./deploy-watch.js";
export type { DeployInfo, DeployObserver, DeployOptions } from "./deploy-watch.js";

/**
 * The agent's deploy engine: owns the config and the Docker connection, and runs every deploy through a
 * `DeployLog` so each one is streamed, kept on disk, and ends with exactly one result.
 */
export class Engine {
  private readonly active = new Map<string, { service: string; log: DeployLog; cancel: AbortController }>();
  /** Deploys per service running or waiting for its lock. */
  private readonly inFlight = new Map<string, number>();
  private readonly work = new Set<Promise<void>>();

  constructor(
    private config: AgentConfig,
    /** The adapters of a service: agent/compose.ts on a server, fakes in tests. */
    private readonly compose: (config: AgentConfig, name: string) => ServicePorts,
    /** Whether the runtime answers (health endpoint). */
    readonly ping: () => Promise<void> = () => Promise.resolve(),
  ) {}

  get agentConfig(): AgentConfig {
    return this.config;
  }

  /** Swaps in a validated new config; running deploys keep the one they started with. */
  replaceConfig(config: AgentConfig): void {
    this.config = config;
  }

  service(name: string): ServicePorts {
    return this.compose(this.config, name);
  }

  /** Validates and opens the deploy's log; the returned promise resolves with the one result. */
  async startDeploy(
    serviceName: string,
    image: string,
    options: DeployOptions = {},
  ): Promise<{ log: DeployLog; done: Promise<DeployResult> }> {
    const ctx = this.service(serviceName);
    assertImageAllowed(ctx, image);
    return this.start(ctx, "deploy", () => image, options);
  }

  async startRollback(
    serviceName: string,
    to: string | undefined,
    options: DeployOptions = {},
  ): Promise<{ log: DeployLog; done: Promise<DeployResult> }> {
    const ctx = this.service(serviceName);
    const target = rollbackTarget(await ctx.store.read(), ctx.config.image, to);
    return this.start(
      ctx,
      "rollback",
      () => target.image,
      options,
      `rolling back to release ${target.record.id}`,
    );
  }

  async deploy(
    serviceName: string,
    image: string,
    sink?: EventSink,
    options?: DeployOptions,
  ): Promise<DeployResult> {
    const { log, done } = await this.startDeploy(serviceName, image, options);
    return follow(log, done, sink);
  }

  async rollback(
    serviceName: string,
    to?: string,
    sink?: EventSink,
    options?: DeployOptions,
  ): Promise<DeployResult> {
    const { log, done } = await this.startRollback(serviceName, to, options);
    return follow(log, done, sink);
  }

  /** A running or recent deploy of `service`, live; an older one read back from disk. */
  async findDeploy(
    service: string,
    deployId: string,
  ): Promise<{ live: DeployLog } | { events: DeployEvent[]; result?: DeployResult } | undefined> {
    const active = this.active.get(deployId);
    if (active) return active.service === service ? { live: active.log } : undefined;
    return readDeployLog(this.config.state_dir, service, deployId);
  }

  /**
   * Cancels a running deploy of `service`: undone like any failure if its release is not live yet. Returns
   * false when there is no such deploy running (it finished, or never was).
   */
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

  /** Resolves once every deploy has finished, including what runs after its result. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }

  async history(serviceName: string): Promise<ReleaseRecord[]> {
    return this.service(serviceName).store.history();
  }

  async reconcile(serviceName: string, sink: EventSink): Promise<void> {
    const ctx = this.service(serviceName);
    const lock = await acquireServiceLock(this.config.state_dir, ctx.name, `reconcile-${process.pid}`, {
      timeoutMs: ctx.config.lock_timeout,
    });
    try {
      await reconcileService(ctx, new StepLogger(sink).at("reconcile"));
    } finally {
      await lock.release();
    }
  }

  private readonly observers: DeployObserver[] = [];

  observe(observer: DeployObserver): void {
    this.observers.push(observer);
  }

  private notify(call: (observer: DeployObserver) => void): void {
    notifyAll(this.observers, call);
  }

  private async start(
    ctx: ServicePorts,
    kind: "deploy" | "rollback",
    image: () => string,
    options: DeployOptions,
    intro?: string,
  ): Promise<{ log: DeployLog; done: Promise<DeployResult> }> {
    // Counted before anything awaits, so requests arriving together cannot all slip under the cap.
    const inFlight = this.inFlight.get(ctx.name) ?? 0;
    if (inFlight > MAX_QUEUED_DEPLOYS) {
      throw new GreenlightError(
        "DEPLOY_IN_PROGRESS",
        `${ctx.name} has a deploy running and ${MAX_QUEUED_DEPLOYS} waiting behind it; try again when one has finished`,
      );
    }
    this.inFlight.set(ctx.name, inFlight + 1);
    const settle = () => {
      const left = (this.inFlight.get(ctx.name) ?? 1) - 1;
      if (left > 0) this.inFlight.set(ctx.name, left);
      else this.inFlight.delete(ctx.name);
    };
    const deployId = options.deployId ?? newDeployId();
    const log = await DeployLog.open(this.config.state_dir, ctx.name, deployId, {
      keep: this.config.deploy_logs.keep,
      maxAgeMs: this.config.deploy_logs.max_age,
    }).catch((error: unknown) => {
      settle();
      throw error;
    });
    const cancel = new AbortController();
    this.active.set(deployId, { service: ctx.name, log, cancel });
    const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
    if (intro) log.append({ step: "rollback", level: "info", source: "agent", message: intro });
    const info: DeployInfo = { deployId, service: ctx.name, kind, image: image(), by: options.by ?? {} };
    this.notify((o) => o.started?.(info));
    let announced = false;
    const announce = (result: DeployResult) => {
      if (announced) return;
      announced = true;
      log.report(result);
      this.notify((o) => o.finished?.(info, result));
    };
    const whole = runReleasePlan(
      ctx,
      { deployId, kind, image: info.image, by: info.by, signal },
      (event) => log.append(event),
      { stateDir: this.config.state_dir, report: announce },
    )
      .catch((error: unknown): DeployResult => {
        const failure = asGreenlightError(error);
        log.append({ step: "queue", level: "error", source: "agent", message: failure.message });
        return {
          deployId,
          service: ctx.name,
          status: "failed",
          durations: { total: 0 },
          error: { code: failure.code, message: failure.message },
        };
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
    const done = log.done;
    return { log, done };
  }
}

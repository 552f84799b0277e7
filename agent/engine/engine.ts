import type { DeployResult } from "../../shared/events.js";
import type { AgentConfig } from "../config/schema.js";
import type { DeployLog } from "../state/event-log.js";
import type { ReleaseRecord } from "../state/releases.js";
import { follow, type DeployObserver, type DeployOptions } from "./deploy-watch.js";
import { Deploys } from "./deploys.js";
import { acquireServiceLock } from "./lock.js";
import type { ServicePorts } from "./ports.js";
import { reconcileService } from "./reconcile.js";
import { routeToTasks } from "./task-routing.js";
import { removeService } from "./remove.js";
import { assertImageAllowed } from "./request.js";
import { rollbackTarget } from "./rollback.js";
import { streamServiceLogs, type LogsRequest } from "./logs.js";
import { findApp } from "../config/schema.js";
import { appRelease, serviceRelease } from "./deployable.js";
import type { OutputSink } from "./container-output.js";
import { StepLogger, type EventSink } from "./step-logger.js";
export type { DeployInfo, DeployObserver, DeployOptions } from "./deploy-watch.js";

/**
 * The agent's deploy engine: owns the config and the Docker connection, and runs every deploy through a
 * `DeployLog` so each one is streamed, kept on disk, and ends with exactly one result.
 */
export class Engine {
  private readonly deploys = new Deploys(() => this.config);

  /** Removes a service from this host (see removeService); refused while a deploy of it runs or waits. */
  async removeService(serviceName: string, sink: EventSink): Promise<void> {
    const ctx = this.service(serviceName);
    const lock = await acquireServiceLock(this.config.state_dir, ctx.name, `remove-${process.pid}`, {
      timeoutMs: 2000,
    });
    try {
      await removeService(ctx, new StepLogger(sink).at("stop"));
    } finally {
      await lock.release();
    }
  }

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

  /** The live release's output (`greenlight logs`); resolves with why the stream ended. */
  logs(serviceName: string, request: LogsRequest, sink: OutputSink): Promise<string> {
    return streamServiceLogs(this.service(serviceName), request, sink);
  }

  /** Validates and opens the deploy's log; the returned promise resolves with the one result. */
  async startDeploy(
    serviceName: string,
    image: string,
    options: DeployOptions = {},
  ): Promise<{ log: DeployLog; done: Promise<DeployResult> }> {
    const app = findApp(this.config, serviceName);
    if (app) {
      const ports = app.services.map((name) => this.service(name));
      // Every service's policy holds before anything starts.
      for (const ctx of ports) assertImageAllowed(ctx, image);
      return this.deploys.launch(appRelease(serviceName, app, ports), "deploy", image, options);
    }
    const ctx = this.service(serviceName);
    assertImageAllowed(ctx, image);
    return this.deploys.launch(serviceRelease(ctx), "deploy", image, options);
  }

  async startRollback(
    serviceName: string,
    to: string | undefined,
    options: DeployOptions = {},
  ): Promise<{ log: DeployLog; done: Promise<DeployResult> }> {
    const ctx = this.service(serviceName);
    const target = rollbackTarget(await ctx.store.read(), ctx.config.image, to);
    return this.deploys.launch(
      serviceRelease(ctx),
      "rollback",
      target.image,
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
  findDeploy(service: string, deployId: string): ReturnType<Deploys["find"]> {
    return this.deploys.find(service, deployId);
  }

  /**
   * Cancels a running deploy of `service`: undone like any failure if its release is not live yet. Returns
   * false when there is no such deploy running (it finished, or never was).
   */
  cancel(service: string, deployId: string, by: string): boolean {
    return this.deploys.cancel(service, deployId, by);
  }

  /** Deploys not yet finished (their result may be out while the old colour stops), for graceful shutdown. */
  running(): Promise<void>[] {
    return this.deploys.running();
  }

  /** Resolves once every deploy has finished, including what runs after its result. */
  idle(): Promise<void> {
    return this.deploys.idle();
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

  /**
   * Between deploys, Swarm replaces tasks on its own (a crash, its restart policy): a service greenlight routes
   * to has its NAT rule re-pointed at the tasks that serve now. Nothing to do for any other service.
   */
  async followTasks(serviceName: string, sink: EventSink): Promise<void> {
    if (this.config.services[serviceName]?.runtime !== "swarm") return;
    await routeToTasks(this.service(serviceName), new StepLogger(sink).at("reconcile"));
  }

  observe(observer: DeployObserver): void {
    this.deploys.observe(observer);
  }
}

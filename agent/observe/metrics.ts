import { VERSION } from "../../shared/version.js";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { DeployResult } from "../../shared/events.js";
import type { DeployInfo, DeployObserver } from "../engine/engine.js";

/** The agent's Prometheus metrics, in a registry of its own (the process's own metrics included). */
export class AgentMetrics implements DeployObserver {
  readonly registry = new Registry();
  private readonly deploys = new Counter({
    name: "greenlight_deploys_total",
    help: "Deploys and rollbacks that ended, by service, kind and result",
    labelNames: ["service", "kind", "result"] as const,
    registers: [this.registry],
  });
  private readonly inProgress = new Gauge({
    name: "greenlight_deploys_in_progress",
    help: "Deploys and rollbacks running now, by service",
    labelNames: ["service"] as const,
    registers: [this.registry],
  });
  private readonly deployDuration = new Histogram({
    name: "greenlight_deploy_duration_seconds",
    help: "Time from request to result",
    labelNames: ["service"] as const,
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  private readonly switchDuration = new Histogram({
    name: "greenlight_switch_duration_seconds",
    help: "Time from the new colour being healthy to traffic confirmed on it",
    labelNames: ["service"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly drainDuration = new Histogram({
    name: "greenlight_drain_duration_seconds",
    help: "Time the old colour took to finish its in-flight requests",
    labelNames: ["service"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: "greenlight_auth_failures_total",
    help: "Requests refused, by error code",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: "greenlight_last_success_timestamp_seconds",
    help: "When the last deploy or rollback of the service succeeded (Unix time)",
    labelNames: ["service"] as const,
    registers: [this.registry],
  });
  private readonly liveRelease = new Gauge({
    name: "greenlight_live_release_info",
    help: "The release each service serves (value 1)",
    labelNames: ["service", "release", "digest"] as const,
    registers: [this.registry],
  });

  constructor(activeConnections: () => number) {
    new Gauge({
      name: "greenlight_build_info",
      help: "The agent's version (value 1)",
      labelNames: ["version", "node"] as const,
      registers: [this.registry],
    }).set({ version: VERSION, node: process.version }, 1);
    new Gauge({
      name: "greenlight_active_connections",
      help: "WebSocket connections open now",
      registers: [this.registry],
      collect() {
        this.set(activeConnections());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "greenlight_agent_" });
  }

  started(info: DeployInfo): void {
    this.inProgress.inc({ service: info.service });
  }

  finished(info: DeployInfo, result: DeployResult): void {
    const service = info.service;
    this.inProgress.dec({ service });
    this.deploys.inc({ service, kind: info.kind, result: result.status });
    const d = result.durations;
    this.deployDuration.observe({ service }, d.total / 1000);
    if (d.switch !== undefined) this.switchDuration.observe({ service }, d.switch / 1000);
    if (d.drain !== undefined) this.drainDuration.observe({ service }, d.drain / 1000);
    if (result.status === "succeeded") {
      this.lastSuccess.set({ service }, Date.now() / 1000);
      this.live(service, result.release ?? "", result.digest ?? "");
    }
  }

  private readonly liveLabels = new Map<string, { service: string; release: string; digest: string }>();

  /** Records the release a service serves (at start, from the state; then after each success). */
  live(service: string, release: string, digest: string): void {
    const previous = this.liveLabels.get(service);
    if (previous) this.liveRelease.remove(previous);
    const labels = { service, release, digest };
    this.liveLabels.set(service, labels);
    this.liveRelease.set(labels, 1);
  }

  refused(code: string): void {
    this.authFailures.inc({ reason: code });
  }
}

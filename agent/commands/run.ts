import type { AgentConfig } from "../config/schema.js";
import { loadConfig } from "../config/load.js";
import { connectDocker } from "../docker-api/client.js";
import { composeAgent } from "../compose.js";
import { Engine } from "../engine/engine.js";
import { createDaemonLog } from "../server/daemon-log.js";
import { startObserveServer, type ObserveServer } from "../observe/http-server.js";
import { AgentMetrics } from "../observe/metrics.js";
import { WebhookNotifier } from "../observe/webhooks.js";
import { IssuerKeys } from "../server/issuer-keys.js";
import { startAgentServer } from "../server/server.js";
import { loadTrust, type Trust } from "../server/trust.js";
import { AuditLog } from "../state/audit-log.js";
import { RefusalLog } from "../server/refusal-log.js";
import { asGreenlightError } from "../../shared/errors.js";

const TASK_FOLLOW_INTERVAL_MS = 1000;

/**
 * `greenlight-agent run`: reconcile every service (a crash or reboot must never leave traffic broken), then
 * serve requests until SIGTERM. SIGHUP reloads the config; an invalid one is refused and the old one kept.
 */
export async function runDaemon(configFile: string, initial: AgentConfig): Promise<void> {
  let config = initial;
  const log = createDaemonLog({ level: () => config.log_level });
  const issuerKeys = new IssuerKeys();
  let trust: Trust = await loadTrust(initial, issuerKeys);
  const { compose, ping } = composeAgent(connectDocker(initial.docker.socket));
  const engine = new Engine(initial, compose, ping);
  const auditError = (error: Error) => log("error", "audit log write failed", { error: error.message });
  const audit = new AuditLog(initial.state_dir, undefined, undefined, auditError);
  const refusals = new RefusalLog(
    new AuditLog(initial.state_dir, undefined, undefined, auditError, "refused"),
  );
  let connections = () => 0;
  const metrics = new AgentMetrics(() => connections());
  const webhooks = new WebhookNotifier(() => config, log);
  engine.observe(metrics);
  engine.observe(webhooks);
  engine.observe({
    finished: (info, result) =>
      void audit.append({
        outcome: result.status,
        command: info.kind,
        service: info.service,
        identity: info.by,
        image: info.image,
        deployId: info.deployId,
        ...(result.digest ? { digest: result.digest } : {}),
        ...(result.release ? { release: result.release } : {}),
        ...(result.error ? { code: result.error.code, message: result.error.message.slice(0, 300) } : {}),
        durationMs: result.durations.total,
      }),
  });

  for (const service of Object.keys(initial.services)) {
    await engine
      .reconcile(service, (event) =>
        log(event.level === "debug" ? "debug" : event.level, event.message, { service }),
      )
      .catch((error: unknown) =>
        log("error", "reconcile failed", { service, error: asGreenlightError(error).message }),
      );
    const state = await engine
      .service(service)
      .store.read()
      .catch(() => undefined);
    const live = state?.records.find((r) => r.id === state.live?.release);
    if (live) metrics.live(service, live.id, live.digest ?? "");
  }
  // Swarm restarts and reschedules tasks between deploys; the NAT rule of a service routed to its tasks follows.
  const following = setInterval(() => {
    for (const service of Object.keys(config.services)) {
      void engine
        .followTasks(service, (event) =>
          log(event.level === "debug" ? "debug" : event.level, event.message, { service }),
        )
        .catch((error: unknown) =>
          log("warn", "could not follow the service's tasks", {
            service,
            error: asGreenlightError(error).message,
          }),
        );
    }
  }, TASK_FOLLOW_INTERVAL_MS);
  following.unref();
  const server = await startAgentServer(initial, {
    engine,
    trust: () => trust,
    audit,
    refusals,
    refused: (code) => metrics.refused(code),
    log,
  });
  connections = () => server.connections();
  let observe: ObserveServer | undefined;
  if (initial.http.enabled) {
    observe = await startObserveServer(initial.http.listen, metrics, async () => {
      const docker = await engine.ping().then(
        () => true,
        () => false,
      );
      return {
        ok: docker,
        detail: { agent: config.id, docker, services: Object.keys(config.services).length },
      };
    });
  }
  const bound = server.address();
  log("info", `listening on ${bound.host}:${bound.port}`, {
    agent: initial.id,
    port: bound.port,
    tls: Boolean(initial.tls),
    keys: trust.keys.size,
    oidc: trust.oidc.size,
    ...(observe
      ? { metrics: `http://${initial.http.listen.replace(/:\d+$/, "")}:${observe.port}/metrics` }
      : {}),
  });

  process.on("SIGHUP", () => {
    void (async () => {
      try {
        const next = await loadConfig(configFile);
        const nextTrust = await loadTrust(next, issuerKeys);
        engine.replaceConfig(next);
        trust = nextTrust;
        config = next;
        log("info", "config reloaded", {
          services: Object.keys(next.services).length,
          keys: nextTrust.keys.size,
          oidc: nextTrust.oidc.size,
        });
      } catch (error) {
        log("error", "config reload refused; keeping the running config", {
          error: asGreenlightError(error).message,
        });
      }
    })();
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      void (async () => {
        clearInterval(following);
        const running = engine.running();
        log("info", `${signal}: stopping; ${running.length} deploy(s) still running will finish first`);
        await server.close();
        await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, 120_000).unref())]);
        // Results of the last deploys still reach their webhooks, within reason.
        await Promise.race([webhooks.idle(), new Promise((r) => setTimeout(r, 5_000).unref())]);
        await observe?.close();
        await refusals.close();
        resolve();
      })();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

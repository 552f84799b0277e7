import type { AgentConfig } from "./config-schema.js";
import { loadConfig } from "./config.js";
import { connectDocker } from "./docker/client.js";
import { Engine } from "./engine/engine.js";
import { createDaemonLog } from "./daemon-log.js";
import { startAgentServer } from "./server/server.js";
import { IssuerKeys } from "./server/issuer-keys.js";
import { loadTrust, type Trust } from "./server/trust.js";
import { asGreenlightError } from "../shared/errors.js";

/**
 * `greenlight-agent run`: reconcile every service (a crash or reboot must never leave traffic broken), then
 * serve requests until SIGTERM. SIGHUP reloads the config; an invalid one is refused and the old one kept.
 */
export async function runDaemon(configFile: string, initial: AgentConfig): Promise<void> {
  const log = createDaemonLog();
  const issuerKeys = new IssuerKeys();
  let trust: Trust = await loadTrust(initial, issuerKeys);
  const engine = new Engine(initial, connectDocker(initial.docker.socket));
  for (const service of Object.keys(initial.services)) {
    await engine
      .reconcile(service, (event) =>
        log(event.level === "debug" ? "debug" : event.level, event.message, { service }),
      )
      .catch((error: unknown) =>
        log("error", "reconcile failed", { service, error: asGreenlightError(error).message }),
      );
  }
  const server = await startAgentServer(initial, { engine, trust: () => trust, log });
  const bound = server.address();
  log("info", `listening on ${bound.host}:${bound.port}`, {
    agent: initial.id,
    port: bound.port,
    tls: Boolean(initial.tls),
    keys: trust.keys.size,
    oidc: trust.oidc.size,
  });

  process.on("SIGHUP", () => {
    void (async () => {
      try {
        const next = await loadConfig(configFile);
        const nextTrust = await loadTrust(next, issuerKeys);
        engine.replaceConfig(next);
        trust = nextTrust;
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
        const running = engine.running();
        log("info", `${signal}: stopping; ${running.length} deploy(s) still running will finish first`);
        await server.close();
        await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, 120_000).unref())]);
        resolve();
      })();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

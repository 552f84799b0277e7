import { formatDuration } from "../../shared/duration.js";
import { neutralize } from "../../shared/neutralize.js";
import type { DeployResult } from "../../shared/events.js";
import { findService, type AgentConfig, type Webhook } from "../config/schema.js";
import type { DaemonLog } from "../server/daemon-log.js";
import type { DeployInfo, DeployObserver } from "../engine/engine.js";

type NotifyEvent = Webhook["events"][number];

const TIMEOUT_MS = 5_000;

/**
 * Tells webhooks (global and per service) when deploys start and end. Sending happens off the deploy's path:
 * each call is fire-and-forget, with a timeout and retries with backoff, so a slow or dead receiver never
 * slows or fails a deploy; what could not be delivered is logged (without the URL's secrets).
 */
export class WebhookNotifier implements DeployObserver {
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly config: () => AgentConfig,
    private readonly log: DaemonLog,
  ) {}

  started(info: DeployInfo): void {
    this.send("started", info);
  }

  finished(info: DeployInfo, result: DeployResult): void {
    // "rolled_back" is a rollback that succeeded; any deploy that did not is "failed", switched back or not.
    const event: NotifyEvent =
      result.status === "succeeded" ? (info.kind === "rollback" ? "rolled_back" : "succeeded") : "failed";
    this.send(event, info, result);
  }

  /** Resolves once every delivery in flight has succeeded or given up (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private send(event: NotifyEvent, info: DeployInfo, result?: DeployResult): void {
    const config = this.config();
    const hooks = [...config.notify.webhooks, ...(findService(config, info.service)?.notify?.webhooks ?? [])];
    for (const hook of hooks) {
      if (!hook.events.includes(event)) continue;
      const body =
        hook.format === "slack"
          ? slackBody(event, info, config.id, result)
          : jsonBody(event, info, config.id, result);
      const delivery = this.deliver(hook, body).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  private async deliver(hook: Webhook, body: unknown): Promise<void> {
    const target = new URL(hook.url);
    const where = `${target.protocol}//${target.host}`;
    for (let attempt = 0; ; attempt += 1) {
      let reason: string;
      try {
        const response = await fetch(hook.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...hook.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await response.body?.cancel();
        if (response.ok) return;
        reason = `HTTP ${response.status}`;
        // A receiver that refuses the request itself will refuse it again.
        if (response.status >= 400 && response.status < 500 && response.status !== 429) break;
      } catch (error) {
        reason =
          (error as Error).name === "TimeoutError"
            ? `no answer in ${TIMEOUT_MS / 1000}s`
            : (error as Error).message;
      }
      if (attempt >= hook.retries) {
        this.log("warn", "webhook not delivered", { to: where, attempts: attempt + 1, reason });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, hook.retry_delay * 4 ** attempt).unref());
    }
    this.log("warn", "webhook refused", { to: where });
  }
}

function summary(event: NotifyEvent, info: DeployInfo, agent: string, result?: DeployResult): string {
  const who = info.by.repository
    ? ` by ${info.by.repository}${info.by.ref ? `@${info.by.ref}` : ""}${info.by.actor ? ` (${info.by.actor})` : ""}`
    : info.by.key
      ? ` by key ${info.by.key}`
      : "";
  const what = info.kind === "rollback" ? "rollback" : info.image;
  switch (event) {
    case "started":
      return `⏳ ${info.service} on ${agent}: ${info.kind} of ${what} started${who}`;
    case "succeeded":
      return `✅ ${info.service} on ${agent}: release ${result?.release ?? "?"} (${info.image}) live in ${formatDuration(result?.durations.total ?? 0)}${who}`;
    case "rolled_back":
      return `↩️ ${info.service} on ${agent}: rolled back to release ${result?.release ?? "?"}${who}`;
    case "failed": {
      const served =
        result?.status === "rolled_back"
          ? "switched back, the previous release serves again"
          : "the previous release keeps serving";
      return `❌ ${info.service} on ${agent}: ${info.kind} of ${what} failed at ${result?.error?.step ?? "?"}: ${result?.error?.code ?? ""} ${result?.error?.message ?? ""} — ${served}${who}`;
    }
  }
}

/**
 * Slack reads `<…>` as links and mentions (`<!channel>`, `<https://evil|click here>`) and `&` as an entity:
 * text from clients and containers is escaped as Slack's formatting rules say, and neutralised.
 */
export function slackText(text: string): string {
  return neutralize(text, 3000).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function slackBody(event: NotifyEvent, info: DeployInfo, agent: string, result?: DeployResult) {
  return { text: slackText(summary(event, info, agent, result)) };
}

function jsonBody(event: NotifyEvent, info: DeployInfo, agent: string, result?: DeployResult) {
  return {
    event,
    agent,
    time: new Date().toISOString(),
    service: info.service,
    kind: info.kind,
    deployId: info.deployId,
    image: info.image,
    by: info.by,
    ...(result ? { result } : {}),
    text: neutralize(summary(event, info, agent, result), 3000),
  };
}

import { EXIT } from "../../shared/errors.js";
import type { DeployEvent, DeployResult } from "../../shared/events.js";
import { formatEvent, formatResult } from "../../shared/format-event.js";
import { jsonLine, neutralize } from "../../shared/neutralize.js";
import { composeAgent } from "../compose.js";
import type { AgentConfig } from "../config/schema.js";
import { Engine } from "../engine/engine.js";
import { connectDocker } from "../docker-api/client.js";
import type { EventInput } from "../state/event-log.js";

/**
 * The engine as `deploy`, `rollback`, `history` and `reconcile` use it at the host's console: the same engine the
 * daemon runs (and the same per-service lock), without a signed request; the operator is the local user.
 */
export function localEngine(config: AgentConfig): Engine {
  const { compose, ping } = composeAgent(connectDocker(config.docker.socket));
  return new Engine(config, compose, ping);
}

export const localOperator = (): { operator: string } => ({
  operator: process.env.SUDO_USER ?? process.env.USER ?? "local",
});

export function printer(json: boolean, debug: boolean): (event: EventInput | DeployEvent) => void {
  const startedAt = Date.now();
  return (event) => {
    if (!("seq" in event)) return;
    if (json) process.stdout.write(`${jsonLine({ type: "event", ...event })}\n`);
    else if (event.level !== "debug" || debug)
      process.stdout.write(`${neutralize(formatEvent(event, startedAt), Number.MAX_SAFE_INTEGER)}\n`);
  };
}

export function finish(result: DeployResult, json: boolean): number {
  process.stdout.write(
    json ? `${jsonLine({ type: "result", ...result })}\n` : `${neutralize(formatResult(result))}\n`,
  );
  return result.status === "succeeded" ? EXIT.ok : EXIT.deployFailed;
}

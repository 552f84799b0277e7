import { parseDuration } from "../shared/duration.js";
import { GreenlightError } from "../shared/errors.js";

export interface ActionInputs {
  agents: string[];
  service: string;
  image?: string;
  command: "deploy" | "rollback" | "status";
  to?: string;
  /** PEM of the signing key; absent with auth oidc. */
  key?: string;
  auth: "key" | "oidc";
  audience?: string;
  agentId?: string;
  timeoutMs: number;
  ca?: Buffer;
  insecure: boolean;
  environment?: string;
  environmentUrl?: string;
  githubToken?: string;
  strategy: "rolling" | "parallel";
  batch: string;
  pauseMs: number;
  rollbackOnFailure: boolean;
}

/** Reads a named input as the runner passes it (INPUT_<NAME>, upper-cased, hyphens kept). */
export type InputReader = (name: string) => string;

/** Every input validated into one typed object; a problem is a USAGE error naming the input. */
export function readActionInputs(input: InputReader): ActionInputs {
  const get = (name: string) => input(name).trim();
  const required = (name: string) => {
    const value = get(name);
    if (!value) throw new GreenlightError("USAGE", `input "${name}" is required`);
    return value;
  };
  const command = get("command") || "deploy";
  if (command !== "deploy" && command !== "rollback" && command !== "status") {
    throw new GreenlightError(
      "USAGE",
      `input "command" must be deploy, rollback or status, not "${command}"`,
    );
  }
  const timeoutText = get("timeout") || "15m";
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined)
    throw new GreenlightError("USAGE", `input "timeout" is not a duration: "${timeoutText}"`);
  const ca = get("ca");
  const strategy = get("strategy") || "rolling";
  if (strategy !== "rolling" && strategy !== "parallel") {
    throw new GreenlightError("USAGE", `input "strategy" must be rolling or parallel, not "${strategy}"`);
  }
  const pauseText = get("pause") || "0s";
  const pauseMs = parseDuration(pauseText);
  if (pauseMs === undefined)
    throw new GreenlightError("USAGE", `input "pause" is not a duration: "${pauseText}"`);
  const rollback = get("rollback-on-failure") || "true";
  if (rollback !== "true" && rollback !== "false") {
    throw new GreenlightError(
      "USAGE",
      `input "rollback-on-failure" must be true or false, not "${rollback}"`,
    );
  }
  const inputs: ActionInputs = {
    agents: required("agents").split(/\s+/).filter(Boolean),
    service: required("service"),
    command,
    auth: "key",
    timeoutMs,
    insecure: get("insecure") === "true",
    strategy,
    batch: get("batch") || "1",
    pauseMs,
    rollbackOnFailure: rollback === "true",
  };
  const auth = get("auth") || "key";
  if (auth !== "key" && auth !== "oidc") {
    throw new GreenlightError("USAGE", `input "auth" must be key or oidc, not "${auth}"`);
  }
  inputs.auth = auth;
  if (auth === "key") inputs.key = required("key");
  if (get("audience")) inputs.audience = get("audience");
  if (command === "deploy") inputs.image = required("image");
  if (get("to")) inputs.to = get("to");
  if (get("agent-id")) inputs.agentId = get("agent-id");
  if (ca) inputs.ca = Buffer.from(ca);
  if (get("environment")) inputs.environment = get("environment");
  if (get("environment-url")) inputs.environmentUrl = get("environment-url");
  if (get("github-token")) inputs.githubToken = get("github-token");
  return inputs;
}

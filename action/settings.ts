import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseDuration } from "../shared/duration.js";
import { GreenlightError } from "../shared/errors.js";
import { COMMANDS, type Command } from "../shared/protocol.js";
import { ID_TOKEN_VARIABLE } from "./auth.js";

export interface ClientSettings {
  command: Command | "keygen" | "help";
  agents: string[];
  agentId?: string;
  keyPem?: string;
  auth: "key" | "oidc";
  audience?: string;
  service?: string;
  image?: string;
  to?: string;
  deployId?: string;
  ca?: Buffer;
  insecure: boolean;
  json: boolean;
  debug: boolean;
  timeoutMs: number;
  out?: string;
  /** Several agents: how to go through them. */
  strategy: "rolling" | "parallel";
  batch: string;
  pauseMs: number;
  rollbackOnFailure: boolean;
}

const options = {
  agent: { type: "string", multiple: true },
  "agent-id": { type: "string" },
  key: { type: "string" },
  auth: { type: "string" },
  audience: { type: "string" },
  service: { type: "string" },
  image: { type: "string" },
  to: { type: "string" },
  "deploy-id": { type: "string" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  timeout: { type: "string" },
  out: { type: "string" },
  strategy: { type: "string" },
  batch: { type: "string" },
  pause: { type: "string" },
  "rollback-on-failure": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Env = Record<string, string | undefined>;

async function readKey(file: string | undefined, env: Env): Promise<string | undefined> {
  if (file) {
    try {
      return await readFile(file, "utf8");
    } catch (error) {
      throw new GreenlightError("USAGE", `cannot read the key file ${file}: ${(error as Error).message}`);
    }
  }
  // GREENLIGHT_KEY holds the PEM itself, as CI secrets do; GREENLIGHT_KEY_FILE a path.
  if (env.GREENLIGHT_KEY?.includes("PRIVATE KEY")) return env.GREENLIGHT_KEY;
  if (env.GREENLIGHT_KEY_FILE) return readKey(env.GREENLIGHT_KEY_FILE, {});
  return undefined;
}

/** Flags first, then GREENLIGHT_* environment variables; every problem is a USAGE error that says what to pass. */
export async function readSettings(argv: string[], env: Env = process.env): Promise<ClientSettings> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    throw new GreenlightError("USAGE", `${(error as Error).message} (see greenlight --help)`);
  }
  const { values, positionals } = parsed;
  const word = positionals[0];
  if (values.help || !word)
    return {
      command: "help",
      agents: [],
      auth: "key",
      insecure: false,
      json: false,
      debug: false,
      timeoutMs: 0,
      strategy: "rolling",
      batch: "1",
      pauseMs: 0,
      rollbackOnFailure: true,
    };
  if (word !== "keygen" && !(COMMANDS as readonly string[]).includes(word)) {
    throw new GreenlightError(
      "USAGE",
      `unknown command "${word}"; use deploy, rollback, status, attach or keygen`,
    );
  }
  const timeoutText = values.timeout ?? env.GREENLIGHT_TIMEOUT ?? "15m";
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined)
    throw new GreenlightError("USAGE", `--timeout "${timeoutText}" is not a duration (e.g. 10m)`);
  const caFile = values.ca ?? env.GREENLIGHT_CA;
  let ca: Buffer | undefined;
  if (caFile) {
    ca = await readFile(caFile).catch((error: Error) => {
      throw new GreenlightError("USAGE", `cannot read the CA file ${caFile}: ${error.message}`);
    });
  }
  const agents = (
    values.agent ?? (env.GREENLIGHT_AGENT ?? env.GREENLIGHT_AGENTS ?? "").split(/[\s,]+/)
  ).filter(Boolean);
  const keyPem = word === "keygen" ? undefined : await readKey(values.key, env);
  // Without a key, a job that was handed an ID token means OIDC.
  const auth = values.auth ?? env.GREENLIGHT_AUTH ?? (!keyPem && env[ID_TOKEN_VARIABLE] ? "oidc" : "key");
  if (auth !== "key" && auth !== "oidc") {
    throw new GreenlightError("USAGE", `--auth must be key or oidc, not "${auth}"`);
  }
  const audience = values.audience ?? env.GREENLIGHT_AUDIENCE;
  const strategy = values.strategy ?? env.GREENLIGHT_STRATEGY ?? "rolling";
  if (strategy !== "rolling" && strategy !== "parallel") {
    throw new GreenlightError("USAGE", `--strategy must be rolling or parallel, not "${strategy}"`);
  }
  const pauseText = values.pause ?? env.GREENLIGHT_PAUSE ?? "0s";
  const pauseMs = parseDuration(pauseText);
  if (pauseMs === undefined) throw new GreenlightError("USAGE", `--pause "${pauseText}" is not a duration`);
  const rollbackText = values["rollback-on-failure"] ?? env.GREENLIGHT_ROLLBACK_ON_FAILURE ?? "true";
  if (rollbackText !== "true" && rollbackText !== "false") {
    throw new GreenlightError("USAGE", `--rollback-on-failure must be true or false, not "${rollbackText}"`);
  }
  const settings: ClientSettings = {
    command: word as Command | "keygen",
    agents,
    agentId: values["agent-id"] ?? env.GREENLIGHT_AGENT_ID,
    ...(keyPem ? { keyPem } : {}),
    auth,
    ...(audience ? { audience } : {}),
    service: values.service ?? env.GREENLIGHT_SERVICE,
    image: values.image ?? env.GREENLIGHT_IMAGE,
    to: values.to ?? env.GREENLIGHT_TO,
    deployId: values["deploy-id"] ?? env.GREENLIGHT_DEPLOY_ID,
    ca,
    insecure: values.insecure ?? env.GREENLIGHT_INSECURE === "true",
    json: values.json ?? false,
    debug: values.debug ?? false,
    timeoutMs,
    out: values.out,
    strategy,
    batch: values.batch ?? env.GREENLIGHT_BATCH ?? "1",
    pauseMs,
    rollbackOnFailure: rollbackText === "true",
  };
  const need = (ok: unknown, what: string) => {
    if (!ok) throw new GreenlightError("USAGE", `${settings.command} needs ${what}`);
  };
  if (settings.command === "keygen") {
    need(settings.out, "--out PATH");
    return settings;
  }
  need(settings.agents.length > 0, "--agent wss://host:7350 (or GREENLIGHT_AGENT)");
  if (settings.auth === "key") {
    need(
      settings.keyPem,
      "--key FILE (or GREENLIGHT_KEY holding the PEM), or --auth oidc with a CI ID token",
    );
  }
  need(settings.service, "--service NAME (or GREENLIGHT_SERVICE)");
  if (settings.command === "deploy") need(settings.image, "--image REF (or GREENLIGHT_IMAGE)");
  if (settings.command === "attach") need(settings.deployId, "--deploy-id ID");
  return settings;
}

import { readFile } from "node:fs/promises";
import { parseDuration } from "../../shared/duration.js";
import { GreenlightError } from "../../shared/errors.js";
import { MAX_LOG_LINES } from "../../shared/limits.js";
import type { Command } from "../../shared/protocol.js";
import { ID_TOKEN_VARIABLE } from "../client/auth.js";
import type { OptionName, OptionTexts, Spell } from "./table.js";

export type ClientCommand = Command | "keygen";

/** One typed set of settings, whichever front end (CLI flags and variables, or Action inputs) gave them. */
export interface ClientSettings {
  command: ClientCommand;
  agents: string[];
  agentId?: string;
  keyPem?: string;
  auth: "key" | "oidc";
  audience?: string;
  service?: string;
  image?: string;
  to?: string;
  deployId?: string;
  /** logs: keep streaming; lines from this many seconds back; at most this many lines from before now. */
  follow: boolean;
  sinceS?: number;
  lines?: number;
  ca?: Buffer;
  insecure: boolean;
  /** On SIGINT/SIGTERM, leave deploys running instead of cancelling them. */
  detach: boolean;
  json: boolean;
  debug: boolean;
  timeoutMs: number;
  out?: string;
  force: boolean;
  /** Several agents: how to go through them. */
  strategy: "rolling" | "parallel";
  batch: string;
  pauseMs: number;
  rollbackOnFailure: boolean;
}

type Env = Record<string, string | undefined>;

/** A PEM given inline (as CI secrets hold it) or a file that holds one. */
async function pemOrFile(text: string, what: string): Promise<string> {
  // Trimmed and ended by one newline whichever way it came (runners trim inputs; files end with one).
  if (text.includes("-----BEGIN")) return `${text.trim()}\n`;
  try {
    return `${(await readFile(text.trim(), "utf8")).trim()}\n`;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new GreenlightError(
      "USAGE",
      `${what} is neither a PEM (-----BEGIN …) nor a readable file (${reason}): give the PEM itself or its path`,
    );
  }
}

/** Parses what the user gave; every problem is a USAGE error naming the option the way it was given. */
export async function settingsFrom(
  command: ClientCommand,
  texts: OptionTexts,
  spell: Spell,
  env: Env = process.env,
): Promise<ClientSettings> {
  const one = (name: OptionName): string | undefined => {
    const value = texts[name];
    const text = (Array.isArray(value) ? value.join(" ") : value)?.trim();
    return text ? text : undefined;
  };
  const choice = <T extends string>(name: OptionName, allowed: readonly T[]): T => {
    const text = one(name) ?? "";
    if (!(allowed as readonly string[]).includes(text))
      throw new GreenlightError("USAGE", `${spell(name)} must be ${allowed.join(" or ")}, not "${text}"`);
    return text as T;
  };
  const duration = (name: OptionName): number => {
    const text = one(name) ?? "";
    const ms = parseDuration(text);
    if (ms === undefined)
      throw new GreenlightError("USAGE", `${spell(name)} "${text}" is not a duration (e.g. 90s, 10m)`);
    return ms;
  };
  const flag = (name: OptionName) => choice(name, ["true", "false"] as const) === "true";
  const count = (name: OptionName, max: number): number | undefined => {
    const text = one(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max)
      throw new GreenlightError(
        "USAGE",
        `${spell(name)} must be a whole number from 1 to ${max}, not "${text}"`,
      );
    return value;
  };
  const sinceText = one("since");
  const sinceS = sinceText === undefined ? undefined : Math.max(1, Math.round(duration("since") / 1000));
  const lines = count("lines", MAX_LOG_LINES);

  const given = texts.agent;
  const agents = (Array.isArray(given) ? given : [given ?? ""])
    .flatMap((text) => text.split(/[\s,]+/))
    .filter(Boolean);
  const keyText = command === "keygen" ? undefined : one("key");
  const keyPem = keyText ? await pemOrFile(keyText, spell("key")) : undefined;
  const caText = one("ca");
  const ca = caText ? Buffer.from(await pemOrFile(caText, spell("ca"))) : undefined;
  // Without a key, a job that was handed an ID token means OIDC.
  const auth = one("auth") ?? (!keyPem && env[ID_TOKEN_VARIABLE] ? "oidc" : "key");
  if (auth !== "key" && auth !== "oidc")
    throw new GreenlightError("USAGE", `${spell("auth")} must be key or oidc, not "${auth}"`);
  const settings: ClientSettings = {
    command,
    agents,
    ...(one("agent-id") ? { agentId: one("agent-id") } : {}),
    ...(keyPem ? { keyPem } : {}),
    auth,
    ...(one("audience") ? { audience: one("audience") } : {}),
    ...(one("service") ? { service: one("service") } : {}),
    ...(one("image") ? { image: one("image") } : {}),
    ...(one("to") ? { to: one("to") } : {}),
    ...(one("deploy-id") ? { deployId: one("deploy-id") } : {}),
    follow: one("follow") === "true",
    ...(sinceS !== undefined ? { sinceS } : {}),
    ...(lines !== undefined ? { lines } : {}),
    ...(ca ? { ca } : {}),
    insecure: flag("insecure"),
    detach: flag("detach"),
    json: one("json") === "true",
    debug: one("debug") === "true",
    timeoutMs: duration("timeout"),
    ...(one("out") ? { out: one("out") } : {}),
    force: one("force") === "true",
    strategy: choice("strategy", ["rolling", "parallel"] as const),
    batch: one("batch") ?? "1",
    pauseMs: duration("pause"),
    rollbackOnFailure: flag("rollback-on-failure"),
  };
  const need = (ok: unknown, name: OptionName, hint = "") => {
    if (!ok) throw new GreenlightError("USAGE", `${command} needs ${spell(name)}${hint}`);
  };
  if (command === "keygen") {
    need(settings.out, "out");
    return settings;
  }
  need(agents.length > 0, "agent");
  if (settings.auth === "key") need(keyPem, "key", ", or keyless auth oidc with a CI ID token");
  need(settings.service, "service");
  if (command === "deploy") need(settings.image, "image");
  if (command === "attach") need(settings.deployId, "deploy-id");
  if (agents.length > 1 && settings.agentId) {
    throw new GreenlightError(
      "USAGE",
      `${spell("agent-id")} names one agent; with several, name each: web-1=wss://web-1.example.com:7350`,
    );
  }
  return settings;
}

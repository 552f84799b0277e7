import { GreenlightError } from "../../shared/errors.js";
import { AGENT_ID } from "../../shared/names.js";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** One agent to reach: where, and which agent identity the user expects to find there. */
export interface AgentTarget {
  url: URL;
  /** What requests are signed for (their `aud`) and the keyless audience is made of; never what the server says. */
  agentId: string;
  /** Where the expected id came from, for the message when the agent is someone else. */
  idFrom: "given" | "url";
}

/**
 * Reads `[ID=]URL`: ws(s) only, plain ws:// only to loopback unless the user says `--insecure`. The expected agent
 * id is ID when given, else the URL's host name (wss://web-1.example.com:7350 expects web-1.example.com).
 */
export function checkAgentUrl(raw: string, insecure: boolean, givenId?: string): AgentTarget {
  const named = /^([^=/:]+)=(.*)$/s.exec(raw);
  const id = named?.[1] ?? givenId;
  const text = named?.[2] ?? raw;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GreenlightError("USAGE", `"${text}" is not a URL; use wss://host:7350 (or ID=wss://host:7350)`);
  }
  if (url.protocol !== "wss:" && url.protocol !== "ws:") {
    throw new GreenlightError(
      "USAGE",
      `agent URL must start with wss:// (or ws:// on loopback), not ${url.protocol}//`,
    );
  }
  if (url.protocol === "ws:" && !LOOPBACK.test(url.hostname) && !insecure) {
    throw new GreenlightError(
      "USAGE",
      `refusing plain ws:// to ${url.hostname}: requests and logs would cross the network unencrypted; use wss:// or --insecure`,
    );
  }
  const agentId = id ?? url.hostname.replace(/^\[|\]$/g, "");
  if (!AGENT_ID.test(agentId)) {
    throw new GreenlightError(
      "USAGE",
      `"${agentId}" is not an agent id (letters, digits, . _ -); name the agent you expect: ID=${text}`,
    );
  }
  return { url, agentId, idFrom: id ? "given" : "url" };
}

/** A short name for a host in logs: the hostname without the domain. */
export function shortName(url: URL): string {
  return url.hostname.split(".")[0] ?? url.hostname;
}

import { GreenlightError } from "../shared/errors.js";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Checks an agent URL: ws(s) only, and plain ws:// only to loopback unless the user says `--insecure`. */
export function checkAgentUrl(raw: string, insecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GreenlightError("USAGE", `"${raw}" is not a URL; use wss://host:7350`);
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
  return url;
}

/** A short name for a host in logs: the hostname without the domain. */
export function shortName(url: URL): string {
  return url.hostname.split(".")[0] ?? url.hostname;
}

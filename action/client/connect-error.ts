import { GreenlightError } from "../../shared/errors.js";

/**
 * Why a connection to an agent failed before it opened, as an error a user can act on. Only what a retry can
 * cure (a refused or reset connection: the agent restarting, a network blip) is left retryable; a wrong
 * scheme, a wrong port, an unknown host or an untrusted certificate fails at once with its cause.
 */
export function connectError(error: NodeJS.ErrnoException, url: URL): GreenlightError {
  const code = error.code ?? "";
  const text = `${code} ${error.message}`;
  const permanent = (message: string) =>
    new GreenlightError("AGENT_UNREACHABLE", message, { permanent: true });
  const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
  if (status === "429") {
    return new GreenlightError(
      "AUTH_RATE_LIMITED",
      "the agent refused the connection: too many connections or failures from this address",
    );
  }
  if (status) {
    return permanent(
      `${url.host} answered HTTP ${status} instead of a WebSocket upgrade: is this the agent's port (7350 by default), not a web server's?`,
    );
  }
  if (/wrong version number|packet length too long|EPROTO|unknown protocol/i.test(text)) {
    return permanent(
      `${url.host} does not speak TLS: use ws:// for an agent without tls in its config (loopback, or --insecure), or give the agent a certificate`,
    );
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(text)) {
    return permanent(
      `the agent's TLS certificate is not trusted (${code || error.message}); pass its CA with --ca`,
    );
  }
  if (code === "ENOTFOUND" || code === "EAI_NONAME") {
    return permanent(`unknown host ${url.hostname}: check the agent URL (DNS has no address for it)`);
  }
  return new GreenlightError(
    "AGENT_UNREACHABLE",
    `cannot reach the agent at ${url.host}: ${code || error.message}`,
  );
}

import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { GreenlightError, asGreenlightError, isErrorCode, isRetryable } from "../../shared/errors.js";
import type { DeployEvent, DeployResult } from "../../shared/events.js";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, TOKEN_LIFETIME_S } from "../../shared/limits.js";
import {
  AgentMessage,
  type CiMetadata,
  type Command,
  type LogMessage,
  type StatusMessage,
} from "../../shared/protocol.js";
import { signRequest } from "../../shared/signing.js";
import { VERSION } from "../../shared/version.js";
import { neutralize } from "../../shared/neutralize.js";
import type { ClientAuth } from "./auth.js";
import { clockAdvice } from "./clock-advice.js";
import { connectError } from "./connect-error.js";

export interface ClientOptions {
  url: URL;
  auth: ClientAuth;
  /**
   * The agent the user means to reach. Requests are signed for it and keyless tokens asked for it; an endpoint
   * that announces another id is refused before anything is signed, so no request or token can be relayed.
   */
  agentId: string;
  /** Where `agentId` came from, for the refusal's advice. */
  idFrom?: "given" | "url";
  ca?: Buffer;
  timeoutMs: number;
  ci: CiMetadata;
  /** Told the agent's version when it differs from this client's. */
  onAgentVersion?: (version: string) => void;
  /** Aborted: ask the agent to cancel the deploy this command started or follows (it undoes it). */
  cancel?: AbortSignal;
}

export interface Renderer {
  accepted(deployId: string, command: Command): void;
  event(event: DeployEvent): void;
  reconnecting(attempt: number, delayMs: number, reason: string): void;
  /** `logs`: one line of the service's output (`agent`: the agent's note); shown neutralised. */
  log?(stream: LogMessage["stream"], line: string): void;
}

export interface CommandArgs {
  cmd: Command;
  service: string;
  image?: string;
  to?: string;
  deployId?: string;
  follow?: boolean;
  since?: number;
  lines?: number;
}

export type Outcome =
  | { kind: "result"; result: DeployResult }
  | { kind: "status"; status: StatusMessage }
  | { kind: "logs"; reason: string };

const SILENCE_MS = 45_000;

interface Attempt {
  outcome?: Outcome;
  error?: GreenlightError;
  deployId?: string;
}

/**
 * Runs one command against one agent. A deploy belongs to the agent: when the connection drops after the agent
 * accepted it, the client reconnects with backoff and re-attaches from the last event it saw, so nothing is
 * lost or shown twice.
 */
export async function runCommand(
  options: ClientOptions,
  args: CommandArgs,
  renderer: Renderer,
): Promise<Outcome> {
  const deadline = Date.now() + options.timeoutMs;
  let lastSeq = 0;
  let deployId = args.deployId;
  let request: CommandArgs = args;
  let failures = 0;
  for (;;) {
    const attempt = await connectOnce(options, request, lastSeq, {
      ...renderer,
      accepted: (id, command) => {
        if (!deployId || command !== "attach") renderer.accepted(id, command);
        deployId = id;
      },
      event: (event) => {
        if (event.seq <= lastSeq) return;
        lastSeq = event.seq;
        renderer.event(event);
      },
    });
    if (attempt.outcome) return attempt.outcome;
    if (attempt.error && !isRetryable(attempt.error.code)) throw attempt.error;
    const lost =
      attempt.error ?? new GreenlightError("CONNECTION_LOST", "connection closed without a result");
    // Before the agent accepted anything, only an unreachable agent is worth retrying (a few times).
    if (lost.details?.permanent) throw lost;
    if (!deployId && (lost.code !== "AGENT_UNREACHABLE" || failures >= 4)) throw lost;
    failures += 1;
    const delay = Math.min(10_000, 250 * 2 ** Math.min(failures, 6)) + Math.floor(Math.random() * 250);
    if (Date.now() + delay > deadline) {
      throw new GreenlightError(
        deployId ? "CONNECTION_LOST" : "AGENT_UNREACHABLE",
        `${lost.message}; gave up after ${Math.round(options.timeoutMs / 1000)}s${deployId ? ` (deploy ${deployId} may still be running: greenlight attach --deploy-id ${deployId})` : ""}`,
      );
    }
    renderer.reconnecting(failures, delay, lost.message);
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (deployId) request = { cmd: "attach", service: args.service, deployId };
  }
}

function agentMismatch(options: ClientOptions, announced: string): GreenlightError {
  const expected =
    options.idFrom === "url"
      ? `"${options.agentId}" (the URL's host name, the default)`
      : `"${options.agentId}"`;
  const shown = neutralize(announced, 80);
  return new GreenlightError(
    "AGENT_MISMATCH",
    `${options.url.host} answered as agent "${shown}", but ${expected} was expected; nothing was signed or sent. ` +
      `If that is the agent you mean, name it: --agent ${shown}=${options.url.href} (action input agents: "${shown}=${options.url.href}")`,
  );
}

function connectOnce(
  options: ClientOptions,
  args: CommandArgs,
  fromSeq: number,
  renderer: Renderer,
): Promise<Attempt> {
  return new Promise((resolve) => {
    const attempt: Attempt = {};
    let opened = false;
    let settled = false;
    const ws = new WebSocket(options.url, {
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    let silence: NodeJS.Timeout | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => ws.terminate(), SILENCE_MS);
    };
    const done = () => {
      if (settled) return;
      settled = true;
      options.cancel?.removeEventListener("abort", cancelNow);
      clearTimeout(silence);
      resolve(attempt);
    };
    let requested = false;
    let clockSkewMs: number | undefined;
    const cancelNow = () => {
      if (attempt.deployId) ws.send(JSON.stringify({ type: "cancel" }));
      else if (!requested) {
        // Nothing was asked of the agent yet: there is nothing to cancel there.
        attempt.error = new GreenlightError(
          "CANCELLED",
          "cancelled before the request was sent; nothing was started",
        );
        ws.terminate();
      }
      // Sent but not yet accepted: the cancel follows the acceptance.
    };
    options.cancel?.addEventListener("abort", cancelNow, { once: true });
    ws.on("open", () => {
      opened = true;
      heard();
    });
    ws.on("ping", heard);
    ws.on("message", (data, isBinary) => {
      heard();
      let message: AgentMessage;
      try {
        message = AgentMessage.parse(JSON.parse(isBinary ? "" : data.toString()));
      } catch {
        attempt.error = new GreenlightError(
          "PROTOCOL_ERROR",
          "the agent sent a message this client does not understand",
        );
        ws.terminate();
        return;
      }
      void handle(message);
    });
    const handle = async (message: AgentMessage) => {
      switch (message.type) {
        case "hello": {
          if (message.protocol !== PROTOCOL_VERSION) {
            attempt.error = new GreenlightError(
              "PROTOCOL_ERROR",
              `agent speaks protocol ${message.protocol}, this client ${PROTOCOL_VERSION}`,
            );
            ws.close();
            return;
          }
          if (message.agentId !== options.agentId) {
            attempt.error = agentMismatch(options, message.agentId);
            ws.close();
            return;
          }
          if (message.time !== undefined) clockSkewMs = message.time - Date.now();
          // Only a version that looks like one is repeated; anything else from the server is not printed.
          if (message.version && message.version !== VERSION && /^[\w.+-]{1,64}$/.test(message.version))
            options.onAgentVersion?.(message.version);
          const agentId = options.agentId;
          let identity: string | undefined;
          try {
            identity = options.auth.kind === "oidc" ? await options.auth.idToken(agentId) : undefined;
          } catch (error) {
            attempt.error = asGreenlightError(error);
            ws.close();
            return;
          }
          const token = await signRequest(
            {
              aud: agentId,
              nonce: message.nonce,
              jti: randomBytes(18).toString("base64url"),
              cmd: args.cmd,
              service: args.service,
              ...(args.image ? { image: args.image } : {}),
              ...(args.to ? { to: args.to } : {}),
              ...(args.deployId ? { deployId: args.deployId } : {}),
              ...(args.cmd === "attach" ? { fromSeq } : {}),
              ...(args.follow ? { follow: true } : {}),
              ...(args.since !== undefined ? { since: args.since } : {}),
              ...(args.lines !== undefined ? { lines: args.lines } : {}),
              ci: options.ci,
              version: VERSION,
            },
            options.auth.signer,
            TOKEN_LIFETIME_S,
          );
          if (options.cancel?.aborted && args.cmd !== "attach") {
            attempt.error = new GreenlightError(
              "CANCELLED",
              "cancelled before the request was sent; nothing was started",
            );
            ws.close();
            return;
          }
          requested = true;
          ws.send(JSON.stringify({ type: "request", token, ...(identity ? { identity } : {}) }));
          return;
        }
        case "accepted":
          attempt.deployId = message.deployId;
          renderer.accepted(message.deployId, message.command);
          if (options.cancel?.aborted) ws.send(JSON.stringify({ type: "cancel" }));
          return;
        case "event":
          renderer.event(message.event);
          return;
        case "result":
          attempt.outcome = { kind: "result", result: message.result };
          return;
        case "status":
          attempt.outcome = { kind: "status", status: message };
          return;
        case "log":
          renderer.log?.(message.stream, message.line);
          return;
        case "logs_end":
          attempt.outcome = { kind: "logs", reason: message.reason };
          return;
        case "error": {
          const code = isErrorCode(message.code) ? message.code : "INTERNAL";
          attempt.error = new GreenlightError(code, `${message.message}${clockAdvice(code, clockSkewMs)}`);
          return;
        }
      }
    };
    ws.on("error", (error: NodeJS.ErrnoException) => {
      if (!opened && !attempt.error) attempt.error = connectError(error, options.url);
    });
    ws.on("close", (code, reason) => {
      if (!attempt.outcome && !attempt.error) {
        attempt.error =
          code === 1009
            ? new GreenlightError("FRAME_TOO_LARGE", "the agent refused a message as too large")
            : new GreenlightError(
                "CONNECTION_LOST",
                `connection to ${options.url.host} closed (${code}${reason.length ? ` ${reason.toString()}` : ""}) before a result`,
              );
      }
      done();
    });
  });
}

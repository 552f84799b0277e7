import { VERSION } from "../../shared/version.js";
import { randomBytes } from "node:crypto";
import type { WebSocket } from "ws";
import {
  GreenlightError,
  asGreenlightError,
  closeCodeFor,
  countsAsFailedAttempt,
} from "../../shared/errors.js";
import type { DeployEvent, DeployResult } from "../../shared/events.js";
import { MAX_BUFFERED_BYTES, PROTOCOL_VERSION, REQUEST_DEADLINE_MS } from "../../shared/limits.js";
import {
  CancelMessage,
  RequestMessage,
  type AgentMessage,
  type RequestClaims,
} from "../../shared/protocol.js";
import { embeddedKey, verifyRequest } from "../../shared/signing.js";
import type { Engine } from "../engine/engine.js";
import type { AuditLog } from "../state/audit-log.js";
import type { RefusalLog } from "./refusal-log.js";
import { limitKey } from "./client-address.js";
import type { DeployLog } from "../state/event-log.js";
import type { ConnectionGuard, ReplayCache, TokenPins } from "./guard.js";
import { authorize, type Principal } from "./policy.js";
import { releaseSummaries } from "./status.js";
import type { Trust } from "./trust.js";

export interface SessionDeps {
  engine: Engine;
  trust: () => Trust;
  guard: ConnectionGuard;
  replays: ReplayCache;
  pins: TokenPins;
  audit: AuditLog;
  refusals: RefusalLog;
  /** Told the code of every refused request (metrics). */
  refused?: (code: string) => void;
  log: (level: "info" | "warn", message: string, fields: Record<string, unknown>) => void;
}

function send(ws: WebSocket, message: AgentMessage): void {
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
    // A reader this slow is dropped rather than buffered without bound; it re-attaches from its last seq.
    ws.terminate();
    return;
  }
  ws.send(JSON.stringify(message));
}

function reject(ws: WebSocket, error: GreenlightError): void {
  send(ws, { type: "error", code: error.code, message: error.message });
  ws.close(closeCodeFor(error.code), error.code);
}

/** One connection: hello with a fresh nonce, exactly one signed request, then its answer or stream. */
export function runSession(ws: WebSocket, address: string, deps: SessionDeps): void {
  const key = limitKey(address);
  const settlePending = deps.guard.open(key, () =>
    reject(
      ws,
      new GreenlightError("AUTH_TIMEOUT", "no request yet, and its slot was needed by a newer connection"),
    ),
  );
  const nonce = randomBytes(24).toString("base64url");
  const agentId = deps.engine.agentConfig.id;
  send(ws, { type: "hello", agentId, protocol: PROTOCOL_VERSION, nonce, version: VERSION, time: Date.now() });
  const deadline = setTimeout(() => {
    deps.guard.failed(key);
    deps.refusals.record({ peer: address, code: "AUTH_TIMEOUT" });
    reject(ws, new GreenlightError("AUTH_TIMEOUT", `no valid request within ${REQUEST_DEADLINE_MS / 1000}s`));
  }, REQUEST_DEADLINE_MS);
  ws.on("close", () => {
    clearTimeout(deadline);
    settlePending();
  });
  ws.once("message", (data, isBinary) => {
    clearTimeout(deadline);
    const known: RequestContext = {};
    void handleRequest(ws, address, nonce, isBinary ? undefined : data.toString(), deps, known)
      .catch((error: unknown) => {
        const failure = asGreenlightError(error);
        if (countsAsFailedAttempt(failure.code)) deps.guard.failed(key);
        deps.refused?.(failure.code);
        // What the client is told may be less than what the operator needs (which claim did not match).
        const detail = typeof failure.details?.detail === "string" ? failure.details.detail : failure.message;
        deps.log("warn", "request refused", { address, code: failure.code, reason: detail });
        deps.refusals.record({ peer: address, ...known, code: failure.code, message: detail.slice(0, 300) });
        reject(ws, failure);
      })
      .finally(settlePending);
  });
}

/** What is known of a request so far (nothing is trusted before verification), for the audit log. */
interface RequestContext {
  clientVersion?: string;
  command?: string;
  service?: string;
  image?: string;
  identity?: Record<string, string>;
}

async function handleRequest(
  ws: WebSocket,
  address: string,
  nonce: string,
  text: string | undefined,
  deps: SessionDeps,
  known: RequestContext,
): Promise<void> {
  let message: RequestMessage;
  try {
    message = RequestMessage.parse(JSON.parse(text ?? ""));
  } catch {
    throw new GreenlightError(
      "PROTOCOL_ERROR",
      'expected one JSON text frame {"type":"request","token":"…"}',
    );
  }
  const engine = deps.engine;
  const { claims, principal, by } = await authenticate(message, nonce, deps);
  Object.assign(known, {
    command: claims.cmd,
    service: claims.service.slice(0, 128),
    identity: by,
    ...(claims.image ? { image: claims.image } : {}),
    ...(claims.version ? { clientVersion: claims.version.slice(0, 64) } : {}),
  });
  if (!deps.replays.remember(claims.jti, claims.exp)) {
    throw new GreenlightError("AUTH_REPLAYED", "this request was already used");
  }
  authorize(claims, principal, engine.agentConfig);
  deps.log("info", "request accepted", {
    address,
    principal: principal.name,
    cmd: claims.cmd,
    service: claims.service,
    ...by,
    ...(claims.version && claims.version !== VERSION
      ? { clientVersion: claims.version, agentVersion: VERSION }
      : {}),
  });
  switch (claims.cmd) {
    case "status": {
      void deps.audit.append({ outcome: "accepted", peer: address, ...known });
      const ctx = engine.service(claims.service);
      const state = await ctx.store.read();
      send(ws, {
        type: "status",
        service: claims.service,
        live: state.live,
        releases: releaseSummaries(state.records),
      });
      ws.close(1000);
      return;
    }
    case "deploy":
    case "rollback": {
      const started =
        claims.cmd === "deploy"
          ? await engine.startDeploy(claims.service, claims.image ?? "", { by })
          : await engine.startRollback(claims.service, claims.to, { by });
      const deployId = started.log.deployId;
      void deps.audit.append({ outcome: "accepted", peer: address, ...known, deployId });
      send(ws, { type: "accepted", deployId, command: claims.cmd, service: claims.service });
      listenForCancel(ws, () => engine.cancel(claims.service, deployId, principal.name), deps, address);
      streamLive(ws, started.log, 0);
      return;
    }
    case "logs": {
      void deps.audit.append({ outcome: "accepted", peer: address, ...known });
      const stop = new AbortController();
      ws.on("close", () => stop.abort());
      // Nothing more is read from the client; anything it sends ends the stream.
      ws.on("message", () => ws.close(1000));
      const reason = await engine.logs(
        claims.service,
        {
          follow: claims.follow === true,
          ...(claims.lines !== undefined ? { lines: claims.lines } : {}),
          ...(claims.since !== undefined ? { sinceS: claims.since } : {}),
          signal: stop.signal,
        },
        {
          line: (line, stream) => send(ws, { type: "log", stream, line }),
          note: (line) => send(ws, { type: "log", stream: "agent", line }),
        },
      );
      send(ws, { type: "logs_end", reason });
      ws.close(1000);
      return;
    }
    case "attach": {
      const deployId = claims.deployId ?? "";
      const found = await engine.findDeploy(claims.service, deployId);
      if (!found)
        throw new GreenlightError(
          "UNKNOWN_DEPLOY",
          `no deploy ${deployId.slice(0, 64)} of ${claims.service}`,
        );
      void deps.audit.append({ outcome: "accepted", peer: address, ...known, deployId });
      send(ws, { type: "accepted", deployId, command: "attach", service: claims.service });
      if ("live" in found) {
        listenForCancel(ws, () => engine.cancel(claims.service, deployId, principal.name), deps, address);
        streamLive(ws, found.live, claims.fromSeq ?? 0);
      } else streamStored(ws, deployId, found.events, found.result, claims.fromSeq ?? 0);
      return;
    }
  }
}

/**
 * Verifies the request against a trusted key, or, when it carries a CI ID token, against a trusted issuer with
 * the request signed by the run's own key. `by` is what the release history records: with a key, the CI metadata
 * the key's holder signed; with an ID token, only the identity the issuer signed.
 */
async function authenticate(
  message: RequestMessage,
  nonce: string,
  deps: SessionDeps,
): Promise<{ claims: RequestClaims; principal: Principal; by: Record<string, string> }> {
  const trust = deps.trust();
  const audience = deps.engine.agentConfig.id;
  if (message.identity === undefined) {
    const { claims, key } = await verifyRequest(message.token, {
      audience,
      nonce,
      findKey: (kid) => trust.keys.get(kid),
    });
    return { claims, principal: key, by: { key: key.name, ...ciFields(claims) } };
  }
  if (trust.oidc.size === 0) {
    throw new GreenlightError(
      "AUTH_UNTRUSTED_ISSUER",
      "this agent trusts no CI identity provider (add one under trust.oidc)",
    );
  }
  const principal = await trust.oidc.verify(message.identity);
  const { claims, key } = await verifyRequest(message.token, {
    audience,
    nonce,
    findKey: (_kid, header) => embeddedKey(header),
  });
  if (!(await deps.pins.pin(principal.tokenId, key.kid, principal.expiresAtS))) {
    throw new GreenlightError(
      "AUTH_REPLAYED",
      "this ID token was already used by another client; request a fresh one for each job",
    );
  }
  // Keyless: only what the issuer signed is recorded; the client's own words about itself are not.
  return { claims, principal, by: { ...principal.identity } };
}

function ciFields(claims: RequestClaims): Record<string, string> {
  const by: Record<string, string> = {};
  for (const [field, value] of Object.entries(claims.ci ?? {})) if (value) by[field] = value;
  return by;
}

/**
 * After the request, the client may send one thing more: a cancel of the deploy this connection follows (its
 * own signed request opened it). Anything else ends the connection; the deploy goes on.
 */
function listenForCancel(ws: WebSocket, cancel: () => boolean, deps: SessionDeps, address: string): void {
  ws.on("message", (data, isBinary) => {
    const parsed = isBinary ? undefined : CancelMessage.safeParse(safeJson(data.toString()));
    if (!parsed?.success) {
      reject(
        ws,
        new GreenlightError("PROTOCOL_ERROR", 'after the request, only {"type":"cancel"} is understood'),
      );
      return;
    }
    const cancelled = cancel();
    deps.log("info", cancelled ? "deploy cancelled by its requester" : "cancel of a deploy that had ended", {
      address,
    });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Events after `fromSeq`, then every new one as it happens, then the result; nothing in between is lost. */
function streamLive(ws: WebSocket, log: DeployLog, fromSeq: number): void {
  replay(ws, log.deployId, log.events, fromSeq);
  if (log.result) {
    finish(ws, log.result);
    return;
  }
  const unsubscribe = log.subscribe((entry) => {
    if (entry.type === "event") send(ws, { type: "event", deployId: log.deployId, event: entry.event });
    else finish(ws, entry.result);
  });
  // The deploy belongs to the agent: a client that leaves stops listening, the deploy goes on.
  ws.on("close", unsubscribe);
}

function streamStored(
  ws: WebSocket,
  deployId: string,
  events: DeployEvent[],
  result: DeployResult | undefined,
  fromSeq: number,
): void {
  replay(ws, deployId, events, fromSeq);
  if (result) finish(ws, result);
  else {
    const failure = new GreenlightError(
      "INTERRUPTED",
      "this deploy was interrupted by an agent restart; see the release history",
    );
    reject(ws, failure);
  }
}

function replay(ws: WebSocket, deployId: string, events: DeployEvent[], fromSeq: number): void {
  for (const event of events) if (event.seq > fromSeq) send(ws, { type: "event", deployId, event });
}

function finish(ws: WebSocket, result: DeployResult): void {
  send(ws, { type: "result", result });
  ws.close(1000, result.status);
}

import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { readFileSync } from "node:fs";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Socket } from "node:net";
import { join } from "node:path";
import {
  MAX_CONNECTIONS,
  MAX_FRAME_BYTES,
  MAX_UPGRADING_CONNECTIONS,
  PING_INTERVAL_MS,
  UPGRADE_DEADLINE_MS,
} from "../../shared/limits.js";
import { ClientAddresses, limitKey } from "./client-address.js";
import type { AgentConfig } from "../config/schema.js";
import { ConnectionGuard, ReplayCache, TokenPins } from "./guard.js";
import { runSession, type SessionDeps } from "./session.js";

export interface AgentServer {
  address(): { host: string; port: number };
  /** WebSocket connections open now. */
  connections(): number;
  close(): Promise<void>;
}

function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(":");
  return {
    host: listen.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: Number(listen.slice(at + 1)),
  };
}

function refuse(socket: Duplex, status: string, reason: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${reason}\n`);
}

/** The WebSocket endpoint: TLS when configured, limits checked before the upgrade, heartbeats to drop dead peers. */
export async function startAgentServer(
  config: AgentConfig,
  deps: Omit<SessionDeps, "guard" | "replays" | "pins">,
): Promise<AgentServer> {
  const addresses = new ClientAddresses(config.trusted_proxies);
  const guard = new ConnectionGuard();
  const replays = new ReplayCache();
  const pins = new TokenPins(Date.now, join(config.state_dir, "oidc-pins.json"));
  await pins.load();
  const handler = (_req: IncomingMessage, res: import("node:http").ServerResponse) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("greenlight agent: connect with a WebSocket\n");
  };
  // Slow handshakes and slow headers are cut at a short deadline (checked every second), not Node's minutes.
  const timeouts = {
    headersTimeout: UPGRADE_DEADLINE_MS,
    requestTimeout: UPGRADE_DEADLINE_MS,
    connectionsCheckingInterval: 1000,
  };
  const server: Server = config.tls
    ? createHttpsServer(
        {
          cert: readFileSync(config.tls.cert),
          key: readFileSync(config.tls.key),
          handshakeTimeout: UPGRADE_DEADLINE_MS,
          ...timeouts,
        },
        handler,
      )
    : createHttpServer(timeouts, handler);
  server.maxConnections = MAX_CONNECTIONS;
  // Sockets still upgrading, oldest first: a flood of them closes its own oldest, never a client that upgraded.
  const upgrading = new Set<Socket>();
  const track = (socket: Socket) => {
    upgrading.add(socket);
    socket.once("close", () => upgrading.delete(socket));
    if (upgrading.size > MAX_UPGRADING_CONNECTIONS) {
      const oldest = upgrading.values().next().value;
      if (oldest) {
        upgrading.delete(oldest);
        oldest.destroy();
      }
    }
  };
  server.on(config.tls ? "secureConnection" : "connection", track);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const alive = new WeakMap<WebSocket, boolean>();

  server.on("upgrade", (req, socket, head) => {
    upgrading.delete(req.socket);
    const address = addresses.resolve(req.socket.remoteAddress ?? "unknown", req.headers["x-forwarded-for"]);
    const refusal = guard.refusal(limitKey(address));
    if (refusal) {
      refuse(socket, "429 Too Many Requests", refusal);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on("pong", () => alive.set(ws, true));
      ws.on("error", () => undefined);
      runSession(ws, address, { ...deps, guard, replays, pins });
    });
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  heartbeat.unref();

  const { host, port } = parseListen(config.listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    address: () => {
      const bound = server.address();
      return typeof bound === "object" && bound ? { host: bound.address, port: bound.port } : { host, port };
    },
    connections: () => wss.clients.size,
    close: async () => {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, "agent shutting down");
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

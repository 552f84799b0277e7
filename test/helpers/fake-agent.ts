import { randomBytes } from "node:crypto";
import { WebSocketServer, type WebSocket } from "ws";
import { PROTOCOL_VERSION } from "../../shared/limits.js";

/** What a hostile endpoint does once a client has sent its request: anything, in any order. */
export type FakeScript = (ws: WebSocket, request: Record<string, unknown>) => void;

export interface FakeAgent {
  url: string;
  /** Every request frame a client sent, as parsed JSON. */
  requests: Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * An endpoint that speaks the agent's protocol but is not one of ours: it announces whatever id it is told to,
 * and answers requests with whatever the script sends. For tests of what a client trusts.
 */
export async function startFakeAgent(
  agentId: string,
  script: FakeScript = () => undefined,
  /** More fields of its `hello` (a version). */
  hello: Record<string, unknown> = {},
): Promise<FakeAgent> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const requests: Record<string, unknown>[] = [];
  server.on("connection", (ws) => {
    ws.send(
      JSON.stringify({
        type: "hello",
        agentId,
        protocol: PROTOCOL_VERSION,
        nonce: randomBytes(24).toString("base64url"),
        ...hello,
      }),
    );
    ws.once("message", (data) => {
      const request = JSON.parse(data.toString()) as Record<string, unknown>;
      requests.push(request);
      script(ws, request);
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

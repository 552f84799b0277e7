import { createServer, type Server } from "node:http";
import type { AgentMetrics } from "./metrics.js";
import { VERSION } from "../../shared/version.js";

export interface ObserveServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz` (200 when the agent can reach Docker, 503 otherwise) and Prometheus `/metrics`, on a listener of
 * their own: nothing here needs a signed request, so it stays on loopback unless told otherwise.
 */
export async function startObserveServer(
  listen: string,
  metrics: AgentMetrics,
  health: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>,
): Promise<ObserveServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
    } else if (path === "/healthz") {
      void health().then(({ ok, detail }) => {
        res
          .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
          .end(`${JSON.stringify({ status: ok ? "ok" : "unavailable", version: VERSION, ...detail })}\n`);
      });
    } else if (path === "/metrics") {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text);
      });
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("greenlight agent: /healthz or /metrics\n");
    }
  });
  const at = listen.lastIndexOf(":");
  const host = listen.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(listen.slice(at + 1)), host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

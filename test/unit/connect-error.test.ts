import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { clientAuth } from "../../action/client/auth.js";
import { runCommand } from "../../action/client/client.js";
import { generateSigningKeys } from "../../shared/signing.js";

const quiet = { accepted: () => undefined, event: () => undefined, reconnecting: () => undefined };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function attempt(url: string): Promise<{ error: Error & { code?: string }; ms: number }> {
  const auth = await clientAuth({ auth: "key", keyPem: (await generateSigningKeys()).privatePem });
  const started = Date.now();
  const error = await runCommand(
    { url: new URL(url), auth, agentId: "web-1", timeoutMs: 60_000, ci: {} },
    { cmd: "status", service: "web" },
    quiet,
  ).then(
    () => assert.fail("the command succeeded"),
    (thrown: Error & { code?: string }) => thrown,
  );
  return { error, ms: Date.now() - started };
}

test("a web server's port (HTTP 404, no upgrade) fails at once, naming the cause", async () => {
  const server = createServer((_req, res) => res.writeHead(404).end("not found"));
  const port = await listen(server);
  try {
    const { error, ms } = await attempt(`ws://127.0.0.1:${port}`);
    assert.equal(error.code, "AGENT_UNREACHABLE");
    assert.match(error.message, /answered HTTP 404 instead of a WebSocket upgrade: is this the agent's port/);
    assert.ok(ms < 2000, `no retries: ${ms} ms`);
  } finally {
    server.close();
  }
});

test("wss:// to an agent without TLS fails at once: it does not speak TLS", async () => {
  const server = createServer((_req, res) => res.writeHead(400).end());
  const port = await listen(server);
  try {
    const { error, ms } = await attempt(`wss://127.0.0.1:${port}`);
    assert.equal(error.code, "AGENT_UNREACHABLE");
    assert.match(error.message, /does not speak TLS/);
    assert.ok(ms < 2000, `no retries: ${ms} ms`);
  } finally {
    server.close();
  }
});

test("a refused connection is retried (the agent may be restarting) before it is given up", async () => {
  const server = createServer();
  const port = await listen(server);
  server.close();
  const { error, ms } = await attempt(`ws://127.0.0.1:${port}`);
  assert.equal(error.code, "AGENT_UNREACHABLE");
  assert.match(error.message, /ECONNREFUSED/);
  assert.ok(ms > 1000, `retried with backoff: ${ms} ms`);
});

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { test } from "node:test";
import { httpCheck, probe } from "../../agent/readiness/http-probe.js";
import { pollUntilReady } from "../../agent/readiness/poll.js";
import { tcpCheck } from "../../agent/readiness/tcp.js";

test("a 200 whose body trickles forever fails the probe at its deadline, and health at its own", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    const drip = setInterval(() => res.write("."), 50);
    res.on("close", () => clearInterval(drip));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
  try {
    const started = Date.now();
    assert.match(String(await probe(url, 300)), /no complete answer within 300ms/);
    assert.ok(Date.now() - started < 1000);
    const healthStarted = Date.now();
    await assert.rejects(
      pollUntilReady({
        what: url,
        check: (timeoutMs) => httpCheck(url, { status: [200, 299] }, timeoutMs),
        intervalMs: 100,
        timeoutMs: 1000,
        requestTimeoutMs: 5000,
        exitState: () => Promise.resolve({ running: true, exitCode: null }),
      }),
      /HEALTH_TIMEOUT|health check/,
    );
    assert.ok(Date.now() - healthStarted < 2000, "the overall deadline bounds a probe longer than it");
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("an HTTP check takes the statuses it is told, and sends the Host it is told", async () => {
  const server = createServer((req, res) =>
    res.writeHead(req.headers.host === "app.internal" ? 302 : 404).end(),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
  try {
    assert.equal(await httpCheck(url, { status: [200, 299] }, 1000), "HTTP 404");
    assert.equal(await httpCheck(url, { status: [200, 299], host: "app.internal" }, 1000), "HTTP 302");
    assert.equal(await httpCheck(url, { status: [200, 399], host: "app.internal" }, 1000), true);
  } finally {
    server.close();
  }
});

test("a TCP check is ready when a connection is accepted, and says why not", async () => {
  const server = createNetServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  assert.equal(await tcpCheck(`127.0.0.1:${port}`, 1000), true);
  server.close();
  await new Promise((resolve) => server.once("close", resolve));
  assert.equal(await tcpCheck(`127.0.0.1:${port}`, 1000), "ECONNREFUSED");
});

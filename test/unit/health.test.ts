import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { probe, waitHealthy } from "../../agent/readiness/http-probe.js";

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
      waitHealthy({
        url,
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

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { startAgentProxy } from "../helpers/nginx.js";
import { waitFor } from "../helpers/ports.js";
import { rawSession } from "../helpers/raw-client.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

// The README's deployment: nginx terminates TLS in front of the agent, so every peer the agent sees is nginx.
const stack = useStack();
let site: Site;
let agent: RunningAgent;
let proxy: { url: string; stop(): Promise<void> };
let ci: Keys;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  ci = await makeKeys(site.dir, "ci");
  agent = await startDaemon(site, [{ name: "ci", public_key: ci.publicPem }], {
    trusted_proxies: ["127.0.0.1"],
  });
  proxy = await startAgentProxy(join(site.dir, "agent-proxy"), agent.port);
});

after(async () => {
  await proxy?.stop();
  await agent?.stop();
  await site?.stop();
});

const status = () =>
  runClient(["status", "--json"], {
    GREENLIGHT_KEY: ci.privatePem,
    GREENLIGHT_AGENT: `test-agent=${proxy.url}`,
    GREENLIGHT_SERVICE: site.service,
  }).done;

async function auditLines(name: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(site.dir, "state", "audit", `${name}.jsonl`), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("behind the proxy, a stranger's junk is counted against the stranger: CI still gets in", async () => {
  for (let i = 0; i < 32; i += 1) {
    await rawSession(proxy.url, () => "junk", "127.0.0.2").catch(() => undefined);
  }
  const run = await status();
  assert.equal(run.code, 0, run.stderr);
  const refused = await auditLines("refused");
  assert.ok(refused.length > 0 && refused.every((r) => r.peer === "127.0.0.2"), JSON.stringify(refused));
  assert.ok(refused.length <= 2, `32 refusals aggregated, not one line each (${refused.length})`);
  const accepted = await auditLines("audit");
  assert.deepEqual(
    accepted.map((r) => [r.outcome, r.peer]),
    [["accepted", "127.0.0.1"]],
  );
});

test("X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
  const outcome = await new Promise<number>((resolve) => {
    const ws = new WebSocket(agent.url, {
      localAddress: "127.0.0.3",
      headers: { "x-forwarded-for": "10.9.9.9" },
    });
    ws.on("message", () => ws.send("junk"));
    ws.on("close", (code) => resolve(code));
    ws.on("error", () => resolve(0));
  });
  assert.equal(outcome, 4400);
  const refused = await waitFor("the refusal in the audit log", async () => {
    const lines = await auditLines("refused");
    return lines.some((r) => r.peer === "127.0.0.3") ? lines : undefined;
  });
  assert.ok(!refused.some((r) => r.peer === "10.9.9.9"), "a stranger cannot choose its address");
});

test("slots held by connections that never send a request, from many addresses, do not lock CI out", async () => {
  const idle: WebSocket[] = [];
  for (let a = 10; a < 24; a += 1) {
    for (let i = 0; i < 5; i += 1) {
      const ws = new WebSocket(agent.url, { localAddress: `127.0.0.${a}` });
      ws.on("error", () => undefined);
      idle.push(ws);
      await new Promise((resolve) => ws.once("message", resolve));
    }
  }
  const run = await status();
  for (const ws of idle) ws.terminate();
  assert.equal(run.code, 0, run.stderr);
});

test("a connection that trickles its HTTP headers is closed at the upgrade deadline", async () => {
  const started = Date.now();
  const closed = await new Promise<number>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: agent.port, localAddress: "127.0.0.4" });
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n"));
    const drip = setInterval(() => socket.write("X-Slow: 1\r\n"), 500);
    socket.on("close", () => {
      clearInterval(drip);
      resolve(Date.now() - started);
    });
    socket.on("error", () => undefined);
  });
  assert.ok(closed < 8000, `closed after ${closed} ms`);
});

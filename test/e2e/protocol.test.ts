import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SignJWT, base64url } from "jose";
import WebSocket from "ws";
import { importPrivateKey } from "../../shared/signing.js";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { rawSession, type RawOutcome } from "../helpers/raw-client.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const stack = useStack();
const REGISTRY_PASSWORD = `registry-pw-${randomBytes(8).toString("hex")}`;
let site: Site;
let agent: RunningAgent;
let ci: Keys;
let limited: Keys;
let stranger: Keys;
let v1: string;

async function startAgent(): Promise<RunningAgent> {
  return startDaemon(
    site,
    [
      { name: "ci", public_key_file: `${ci.privateFile}.pub` },
      { name: "limited", public_key: limited.publicPem, services: ["some-other-service"] },
    ],
    { registries: { [stack.registry.host]: { username: "deploy", password: REGISTRY_PASSWORD } } },
  );
}

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  ci = await makeKeys(site.dir, "ci");
  limited = await makeKeys(site.dir, "limited");
  stranger = await makeKeys(site.dir, "stranger");
  agent = await startAgent();
  v1 = await stack.image({ version: "v1" });
});

after(async () => {
  await agent?.stop();
  await site?.stop();
});

const env = () => ({
  GREENLIGHT_KEY: ci.privatePem,
  GREENLIGHT_AGENT: agent.target,
  GREENLIGHT_SERVICE: site.service,
});

interface Forge {
  keys?: Keys;
  kidOf?: Keys;
  claims?: Record<string, unknown>;
  iat?: number;
  exp?: number;
}

type Hello = { nonce: string; agentId: string };
const nowS = () => Math.floor(Date.now() / 1000);

/** A request token built by hand, so each test can get exactly one thing wrong. */
async function forge(hello: Hello, options: Forge = {}): Promise<string> {
  const signer = await importPrivateKey((options.keys ?? ci).privatePem);
  const kid = (await importPrivateKey((options.kidOf ?? options.keys ?? ci).privatePem)).kid;
  const claims = {
    aud: hello.agentId,
    nonce: hello.nonce,
    jti: randomBytes(18).toString("base64url"),
    cmd: "status",
    service: site.service,
    ...options.claims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "Ed25519", typ: "greenlight-request+jwt", kid })
    .setIssuedAt(options.iat ?? nowS())
    .setExpirationTime(options.exp ?? nowS() + 60)
    .sign(signer.key);
}

const request = (token: string) => JSON.stringify({ type: "request", token });

function errorOf(outcome: RawOutcome): { code?: unknown; close: number } {
  const error = outcome.messages.find((m) => m.type === "error");
  return { code: error?.code, close: outcome.closeCode };
}

async function tampered(h: Hello): Promise<string> {
  const [header, , signature] = (await forge(h, { claims: { cmd: "deploy", image: v1 } })).split(".");
  const claims = {
    aud: h.agentId,
    nonce: h.nonce,
    jti: "x".repeat(24),
    cmd: "deploy",
    service: site.service,
    image: `${stack.registry.host}/testapp:evil`,
    iat: nowS(),
    exp: nowS() + 60,
  };
  return request(`${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`);
}

function unsigned(h: Hello): string {
  const header = base64url.encode(JSON.stringify({ alg: "none", typ: "greenlight-request+jwt" }));
  const claims = {
    aud: h.agentId,
    nonce: h.nonce,
    jti: "n".repeat(24),
    cmd: "status",
    service: site.service,
    iat: nowS(),
    exp: nowS() + 60,
  };
  return request(`${header}.${base64url.encode(JSON.stringify(claims))}.`);
}

async function hmacWithPublicKey(h: Hello): Promise<string> {
  const kid = (await importPrivateKey(ci.privatePem)).kid;
  const token = await new SignJWT({
    aud: h.agentId,
    nonce: h.nonce,
    jti: "h".repeat(24),
    cmd: "status",
    service: site.service,
  })
    .setProtectedHeader({ alg: "HS256", typ: "greenlight-request+jwt", kid })
    .setIssuedAt(nowS())
    .setExpirationTime(nowS() + 60)
    .sign(new TextEncoder().encode(ci.publicPem));
  return request(token);
}

const deployOf = (image: string) => ({ claims: { cmd: "deploy", image } });

describe("bad input is refused with its code and changes nothing", () => {
  let snapshot: string;
  let logsBefore: string[];
  test("set-up: one release live", async () => {
    const run = await runClient(["deploy", "--image", v1], env()).done;
    assert.equal(run.code, 0, run.stdout + run.stderr);
    snapshot = await site.snapshot();
    logsBefore = await readdir(join(site.dir, "state", "deploys", site.service));
  });

  const cases: [string, (hello: Hello) => Promise<string | Buffer> | string | Buffer, string, number][] = [
    [
      "bad signature (another key, trusted kid)",
      async (h) => request(await forge(h, { keys: stranger, kidOf: ci })),
      "AUTH_BAD_SIGNATURE",
      4401,
    ],
    ["unknown key", async (h) => request(await forge(h, { keys: stranger })), "AUTH_UNKNOWN_KEY", 4401],
    [
      "key not allowed for the service",
      async (h) => request(await forge(h, { keys: limited })),
      "POLICY_SERVICE_NOT_ALLOWED",
      4403,
    ],
    [
      "wrong aud",
      async (h) => request(await forge(h, { claims: { aud: "another-agent" } })),
      "AUTH_WRONG_AUDIENCE",
      4401,
    ],
    [
      "wrong nonce",
      async (h) => request(await forge(h, { claims: { nonce: randomBytes(24).toString("base64url") } })),
      "AUTH_BAD_NONCE",
      4401,
    ],
    [
      "expired",
      async (h) => request(await forge(h, { iat: nowS() - 400, exp: nowS() - 200 })),
      "AUTH_EXPIRED",
      4401,
    ],
    [
      "iat in the future",
      async (h) => request(await forge(h, { iat: nowS() + 300, exp: nowS() + 360 })),
      "AUTH_NOT_YET_VALID",
      4401,
    ],
    ["claims tampered after signing", tampered, "AUTH_BAD_SIGNATURE", 4401],
    ["alg: none", unsigned, "AUTH_BAD_SIGNATURE", 4401],
    ["HS256 signed with the agent's public key", hmacWithPublicKey, "AUTH_BAD_SIGNATURE", 4401],
    ["malformed JSON", () => "{not json", "PROTOCOL_ERROR", 4400],
    ["a binary frame", () => Buffer.from([1, 2, 3]), "PROTOCOL_ERROR", 4400],
    ["non-JWS garbage", () => request("this-is-not-a-token"), "AUTH_MALFORMED", 4401],
    [
      "unknown command",
      async (h) => request(await forge(h, { claims: { cmd: "exec" } })),
      "UNKNOWN_COMMAND",
      4400,
    ],
    [
      "unknown service",
      async (h) => request(await forge(h, { claims: { service: "nosuchservice" } })),
      "UNKNOWN_SERVICE",
      4404,
    ],
    [
      "a service named after an Object property",
      async (h) => request(await forge(h, { claims: { service: "constructor" } })),
      "UNKNOWN_SERVICE",
      4404,
    ],
    [
      "image from another repository",
      async (h) => request(await forge(h, deployOf(`${stack.registry.host}/other:v1`))),
      "POLICY_IMAGE_NOT_ALLOWED",
      4403,
    ],
    [
      "service built to escape a path",
      async (h) => request(await forge(h, { claims: { service: "../../etc" } })),
      "UNKNOWN_SERVICE",
      4404,
    ],
    [
      "service with nginx syntax",
      async (h) => request(await forge(h, { claims: { service: "web;}\nserver{" } })),
      "UNKNOWN_SERVICE",
      4404,
    ],
    [
      "image built to inject nginx config",
      async (h) => request(await forge(h, deployOf(`${stack.registry.host}/testapp:v1;\n}`))),
      "INVALID_ARGUMENT",
      4400,
    ],
    [
      "image with a path escape",
      async (h) => request(await forge(h, deployOf(`${stack.registry.host}/../testapp:v1`))),
      "INVALID_ARGUMENT",
      4400,
    ],
  ];

  for (const [name, reply, code, close] of cases) {
    test(name, async () => {
      const outcome = await rawSession(agent.url, reply);
      assert.deepEqual(errorOf(outcome), { code, close }, JSON.stringify(outcome));
      assert.ok(!outcome.messages.some((m) => m.type === "accepted"));
    });
  }

  test("a token replayed on a new connection is refused (its nonce belongs to the old one)", async () => {
    let token = "";
    await rawSession(agent.url, async (h) => {
      token = await forge(h);
      return request(token);
    });
    const replay = await rawSession(agent.url, () => request(token));
    assert.deepEqual(errorOf(replay), { code: "AUTH_BAD_NONCE", close: 4401 });
  });

  test("a request id used before is refused even with a fresh nonce", async () => {
    const jti = randomBytes(18).toString("base64url");
    const first = await rawSession(agent.url, async (h) => request(await forge(h, { claims: { jti } })));
    assert.ok(first.messages.some((m) => m.type === "status"));
    const again = await rawSession(agent.url, async (h) => request(await forge(h, { claims: { jti } })));
    assert.deepEqual(errorOf(again), { code: "AUTH_REPLAYED", close: 4401 });
  });

  test("an oversized frame is refused by the frame cap", async () => {
    const outcome = await rawSession(agent.url, () => request("x".repeat(100_000)));
    assert.equal(outcome.closeCode, 1009);
  });

  test("a connection that sends nothing is closed after the deadline", async () => {
    const started = Date.now();
    const outcome = await rawSession(agent.url, undefined);
    assert.deepEqual(errorOf(outcome), { code: "AUTH_TIMEOUT", close: 4408 });
    assert.ok(Date.now() - started < 8000);
  });

  test("the server is unchanged after all of the above", async () => {
    assert.equal(await site.snapshot(), snapshot);
    assert.deepEqual(await readdir(join(site.dir, "state", "deploys", site.service)), logsBefore);
  });
});

test("a flood of unauthenticated connections does not stop a valid client", async () => {
  const flood: WebSocket[] = [];
  let refused = 0;
  await Promise.all(
    Array.from({ length: 100 }, () => {
      const ws = new WebSocket(agent.url, { localAddress: "127.0.0.2" });
      flood.push(ws);
      return new Promise<void>((resolve) => {
        ws.on("message", () => resolve());
        ws.on("unexpected-response", () => {
          refused += 1;
          resolve();
        });
        ws.on("error", () => resolve());
      });
    }),
  );
  const run = await runClient(["status", "--json"], env()).done;
  for (const ws of flood) ws.terminate();
  assert.ok(refused >= 80, `most of the flood was refused (${refused})`);
  assert.equal(run.code, 0, run.stderr);
});

test("the deploy happy path streams every event in order, then one result", async () => {
  const v2 = await stack.image({ version: "v2" });
  const run = await runClient(["deploy", "--image", v2, "--json"], env()).done;
  assert.equal(run.code, 0, run.stderr);
  const events = run.lines.filter((l) => l.type === "event");
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
  );
  const steps = new Set(events.map((e) => e.step));
  for (const step of ["pull", "start", "health", "switch", "drain", "record"])
    assert.ok(steps.has(step), step);
  const results = run.lines.filter((l) => l.type === "result");
  assert.equal(results.length, 1);
  assert.equal(results[0]?.status, "succeeded");
  assert.equal(await site.servedVersion(), "v2");
  // The result comes once the old colour is drained; its stop follows, and is in the deploy's log.
  const deployId = String(results[0]?.deployId);
  for (let tries = 0; ; tries += 1) {
    const later = await runClient(["attach", "--deploy-id", deployId, "--json"], env()).done;
    const stopped = later.lines.some(
      (l) => l.type === "event" && l.step === "stop" && /stopped and removed/.test(String(l.message)),
    );
    if (stopped) break;
    assert.ok(tries < 50, `the old colour's stop is recorded in deploy ${deployId}'s log`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

test("Ctrl-C cancels the deploy on the agent: undone, CANCELLED, the old release serves", async () => {
  const before = await site.servedVersion();
  const slow = await stack.image({ version: "v5-never-ready", startDelay: 60 });
  let interrupted = false;
  const run = await runClient(["deploy", "--image", slow, "--json"], env(), (line, child) => {
    if (!interrupted && line.type === "event" && line.step === "health") {
      interrupted = true;
      child.kill("SIGINT");
    }
  }).done;
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.ok(
    run.lines.some((l) => l.type === "fleet-note" && /SIGINT: cancelling/.test(String(l.message))),
    "the client says it is cancelling",
  );
  const result = run.lines.find((l) => l.type === "result") as {
    status?: string;
    error?: { code?: string; step?: string };
  };
  assert.equal(result?.status, "failed");
  assert.equal(result?.error?.code, "CANCELLED");
  assert.equal(result?.error?.step, "health");
  assert.equal(await site.servedVersion(), before);
  assert.deepEqual(
    (await site.containers()).map((c) => c.split(":")[1]),
    ["running"],
    "the new colour is removed",
  );
});

test("--detach: Ctrl-C leaves the deploy running and says how to follow it", async () => {
  const slow = await stack.image({ version: "v6-slow", startDelay: 2 });
  let deployId = "";
  const run = await runClient(["deploy", "--image", slow, "--json", "--detach"], env(), (line, child) => {
    if (line.type === "accepted") deployId = String(line.deployId);
    if (line.type === "event" && line.step === "health") child.kill("SIGINT");
  }).done;
  assert.equal(run.code, 130, run.stdout + run.stderr);
  assert.ok(deployId);
  assert.ok(
    run.lines.some((l) => l.type === "fleet-note" && String(l.message).includes(`attach --deploy-id`)),
  );
  assert.ok(run.lines.some((l) => l.type === "fleet-note" && String(l.message).includes(deployId)));
  const attach = await runClient(["attach", "--deploy-id", deployId, "--json"], env()).done;
  assert.equal(attach.lines.find((l) => l.type === "result")?.status, "succeeded", attach.stdout);
  assert.equal(await site.servedVersion(), "v6-slow");
});

test("a client killed mid-deploy: the deploy completes, a new client re-attaches and gets every event", async () => {
  const slow = await stack.image({ version: "v3-slow", startDelay: 2 });
  let deployId = "";
  const first = runClient(["deploy", "--image", slow, "--json"], env(), (line, child) => {
    if (line.type === "accepted") deployId = String(line.deployId);
    if (line.type === "event" && line.step === "health") child.kill("SIGKILL");
  });
  const killed = await first.done;
  assert.ok(deployId, killed.stdout);
  const seen = killed.lines.filter((l) => l.type === "event").map((l) => Number(l.seq));
  const attach = await runClient(["attach", "--deploy-id", deployId, "--json"], env()).done;
  assert.equal(attach.code, 0, attach.stderr);
  const events = attach.lines.filter((l) => l.type === "event").map((l) => Number(l.seq));
  assert.deepEqual(
    events,
    events.map((_, i) => i + 1),
    "every event from the start, in order",
  );
  assert.ok(events.length > seen.length);
  assert.equal(attach.lines.find((l) => l.type === "result")?.status, "succeeded");
  assert.equal(await site.servedVersion(), "v3-slow");
});

test("a dropped connection is re-attached from the last sequence number, nothing lost or repeated", async () => {
  const proxy = await startTcpProxy(agent.port);
  const slow = await stack.image({ version: "v4-slow", startDelay: 2 });
  let cut = false;
  const run = runClient(
    ["deploy", "--image", slow, "--json", "--agent", `test-agent=ws://127.0.0.1:${proxy.port}`],
    env(),
    (line) => {
      if (!cut && line.type === "event" && line.step === "health") {
        cut = true;
        proxy.cut();
      }
    },
  );
  const done = await run.done;
  await proxy.close();
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.ok(
    done.lines.some((l) => l.type === "reconnecting"),
    "it did reconnect",
  );
  const seqs = done.lines.filter((l) => l.type === "event").map((l) => Number(l.seq));
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
  );
  assert.equal(done.lines.filter((l) => l.type === "result").length, 1);
});

test("the agent restarted between two deploys keeps its keys and history", async () => {
  await agent.stop();
  agent = await startAgent();
  const run = await runClient(["deploy", "--image", v1], env()).done;
  assert.equal(run.code, 0, run.stderr);
  const status = await runClient(["status", "--json"], env()).done;
  const parsed = JSON.parse(status.stdout) as { releases: { status: string }[] };
  assert.ok(parsed.releases.length >= 5, status.stdout);
  assert.equal(await site.servedVersion(), "v1");
});

test("greenlight logs: the live release's last lines, then following across a deploy, neutralised and authorised per service", async () => {
  const plain = await runClient(["deploy", "--image", await stack.image({ version: "v-plain" })], env()).done;
  assert.equal(plain.code, 0, plain.stderr);
  // The test app's images share their one layer: after the first pull it is already here, and the line says so.
  assert.match(
    plain.stdout,
    /pull +\d+\/\d+ layers, ([\d.]+\/[\d.]+ MB|all already on this host)$/m,
    "pull progress shows in a terminal",
  );
  const tail = await runClient(["logs", "--lines", "2"], env()).done;
  assert.equal(tail.code, 0, tail.stderr);
  const lines = tail.stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 2, tail.stdout);
  assert.match(tail.stdout, /test-app v-plain listening on :8080/);

  const say = "::warning::from the app";
  const next = await stack.image({ version: "v-logs", say });
  let following = false;
  const follow = runClient(["logs", "--follow", "--lines", "1", "--json"], env(), (line, child) => {
    following = true;
    if (line.type === "log" && /test-app v-logs listening/.test(String(line.line))) child.kill("SIGINT");
  });
  while (!following) await new Promise((resolve) => setTimeout(resolve, 50));
  const deployed = await runClient(["deploy", "--image", next], env()).done;
  assert.equal(deployed.code, 0, deployed.stdout);
  const followed = await follow.done;
  const logs = followed.lines.filter((l) => l.type === "log");
  assert.ok(
    logs.some((l) => l.stream === "agent" && /release \d+ is live now: following/.test(String(l.line))),
    JSON.stringify(logs),
  );
  const said = logs.find((l) => /from the app/.test(String(l.line)));
  assert.equal(said?.line, ": :warning::from the app", "no workflow command can form");

  const refused = await runClient(["logs"], { ...env(), GREENLIGHT_KEY: limited.privatePem }).done;
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /POLICY_SERVICE_NOT_ALLOWED/);
  const typo = await runClient(["logs", "--lines", "0"], env()).done;
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /USAGE: --lines must be a whole number from 1 to 10000, not "0"/);
});

test("client exit codes: usage 2, rejected 3, unreachable 4, failed deploy 1", async () => {
  assert.equal((await runClient(["deploy"], env()).done).code, 2);
  assert.equal(
    (await runClient(["deploy", "--image", v1, "--agent", "ws://example.com:7350"], env()).done).code,
    2,
  );
  assert.equal(
    (await runClient(["deploy", "--image", `${stack.registry.host}/other:v1`], env()).done).code,
    3,
  );
  const unreachable = await runClient(["status", "--timeout", "2s"], {
    ...env(),
    GREENLIGHT_AGENT: "ws://127.0.0.1:9",
  }).done;
  assert.equal(unreachable.code, 4, unreachable.stderr);
  const failed = await runClient(["deploy", "--image", `${stack.registry.host}/testapp:missing`], env()).done;
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /IMAGE_NOT_FOUND/);
});

test("no secret appears in the agent's log, the client's output or the deploy logs", async () => {
  const run = await runClient(["deploy", "--image", v1, "--debug"], env()).done;
  assert.equal(run.code, 0, run.stderr);
  const keyBody = ci.privatePem.split("\n")[1] ?? "";
  const deployLogs = join(site.dir, "state", "deploys", site.service);
  let stored = "";
  for (const file of await readdir(deployLogs)) stored += await readFile(join(deployLogs, file), "utf8");
  for (const [where, text] of [
    ["agent log", agent.output()],
    ["client output", run.stdout + run.stderr],
    ["deploy logs", stored],
  ] as const) {
    assert.ok(!text.includes(keyBody), `private key in ${where}`);
    assert.ok(!text.includes(REGISTRY_PASSWORD), `registry password in ${where}`);
  }
});

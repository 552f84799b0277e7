import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateRunSigner, signRequest, type Signer } from "../../shared/signing.js";
import { runClient } from "../helpers/client.js";
import { startDaemon, type RunningAgent } from "../helpers/daemon.js";
import { startLocalIssuer, type LocalIssuer } from "../helpers/oidc-issuer.js";
import { rawSession } from "../helpers/raw-client.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/ports.js";

const stack = useStack();
let site: Site;
let issuer: LocalIssuer;
let agent: RunningAgent;
let v1: string;
const AUDIENCE = "greenlight:test-agent";

// What GitHub puts in a workflow's ID token, trimmed to the claims the policy and the history use.
const GITHUB_CLAIMS = {
  sub: "repo:acme/shop:ref:refs/heads/production",
  repository: "acme/shop",
  ref: "refs/heads/production",
  sha: "0123456789abcdef0123456789abcdef01234567",
  actor: "octocat",
  run_id: "4242",
};

// An issuer whose keys cannot be read: it answers 500 and counts how often it is asked.
let failingHits = 0;
let failing: Server;
let failingUrl = "";
let trust: Record<string, unknown>;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  issuer = await startLocalIssuer(GITHUB_CLAIMS);
  failing = createServer((_req, res) => {
    failingHits += 1;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
  const address = failing.address();
  failingUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  trust = {
    keys: [],
    oidc: [
      {
        name: "github",
        issuer: issuer.url,
        claims: { repository: "acme/shop", ref: "refs/heads/production" },
        services: [site.service],
      },
      {
        name: "release-branches",
        issuer: issuer.url,
        claims: { repository: "acme/shop", ref: "refs/heads/release-*" },
      },
      {
        name: "gitlab",
        issuer: issuer.url,
        claims: { project_path: "acme/shop", ref_path: "refs/heads/production" },
      },
      {
        name: "limited",
        issuer: issuer.url,
        claims: { repository: "acme/other" },
        services: ["some-other-service"],
      },
      // An issuer that cannot be reached: its tokens are refused, never waved through.
      { issuer: "http://127.0.0.1:9", jwks_url: "http://127.0.0.1:9/jwks", claims: { repository: "*" } },
      { issuer: failingUrl, claims: { repository: "acme/shop" } },
    ],
  };
  agent = await startDaemon(site, [], { trust });
  v1 = await stack.image({ version: "v1" });
});

after(async () => {
  failing?.close();
  await agent?.stop();
  await issuer?.stop();
  await site?.stop();
});

const cli = (args: string[], env: Record<string, string>) =>
  runClient(args, { GREENLIGHT_AGENT: agent.target, GREENLIGHT_SERVICE: site.service, ...env }).done;

/** Sends one request as a CI job would: the ID token beside a request signed by the run's own key. */
async function attempt(identity: string, signer?: Signer, cmd: Record<string, unknown> = {}) {
  const key = signer ?? (await generateRunSigner());
  const outcome = await rawSession(agent.url, async (hello) =>
    JSON.stringify({
      type: "request",
      identity,
      token: await signRequest(
        {
          aud: hello.agentId,
          nonce: hello.nonce,
          jti: randomBytes(18).toString("base64url"),
          cmd: "status",
          service: site.service,
          ...cmd,
        },
        key,
        60,
      ),
    }),
  );
  const error = outcome.messages.find((m) => m.type === "error");
  return { code: error?.code, message: String(error?.message ?? ""), outcome };
}

test("a deploy with only the CI's ID token: accepted, and the history records the token's identity", async () => {
  const token = await issuer.mint(AUDIENCE);
  const run = await cli(["deploy", "--image", v1, "--auth", "oidc", "--json"], {
    GREENLIGHT_ID_TOKEN: token,
    // What the client says about itself is overridden by what the issuer signed.
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "mallory/fork",
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const state = await site.state();
  const record = state.records.at(-1);
  assert.equal(record?.status, "live");
  assert.equal(record?.by.oidc, "github");
  assert.equal(record?.by.repository, "acme/shop");
  assert.equal(record?.by.ref, "refs/heads/production");
  assert.equal(record?.by.actor, "octocat");
  assert.equal(record?.by.run, "4242");
  // Only what the issuer signed: the client's own claims about itself (provider, run URL, …) are not kept.
  assert.deepEqual(Object.keys(record?.by ?? {}).sort(), [
    "actor",
    "commit",
    "oidc",
    "ref",
    "repository",
    "run",
    "subject",
  ]);
  assert.ok(!run.stdout.includes(token) && !agent.output().includes(token), "the ID token is never printed");
});

test("a GitLab job's token (id_tokens: GREENLIGHT_ID_TOKEN): GitLab's claims recorded in the same terms", async () => {
  const token = await issuer.mint(AUDIENCE, {
    claims: {
      sub: "project_path:acme/shop:ref_type:branch:ref:production",
      repository: undefined,
      actor: undefined,
      run_id: undefined,
      project_path: "acme/shop",
      ref: "production",
      ref_path: "refs/heads/production",
      user_login: "alice",
      pipeline_id: "777",
    },
  });
  const run = await cli(["status"], { GREENLIGHT_ID_TOKEN: token, GITLAB_CI: "true" });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const deploy = await cli(["deploy", "--image", v1], { GREENLIGHT_ID_TOKEN: token, GITLAB_CI: "true" });
  assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
  assert.match(deploy.stdout, /section_start:\d+:/);
  const record = (await site.state()).records.at(-1);
  assert.deepEqual(
    [record?.by.oidc, record?.by.repository, record?.by.ref, record?.by.actor, record?.by.run],
    ["gitlab", "acme/shop", "refs/heads/production", "alice", "777"],
  );
});

test("the same token may reconnect with the same run key, but no other key can use it", async () => {
  const token = await issuer.mint(AUDIENCE);
  const runKey = await generateRunSigner();
  assert.equal((await attempt(token, runKey)).code, undefined);
  assert.equal((await attempt(token, runKey)).code, undefined);
  const thief = await attempt(token);
  assert.equal(thief.code, "AUTH_REPLAYED");
});

test("an ID token pinned before an agent restart stays pinned after it", async () => {
  const token = await issuer.mint(AUDIENCE);
  const runKey = await generateRunSigner();
  assert.equal((await attempt(token, runKey)).code, undefined);
  await agent.stop();
  agent = await startDaemon(site, [], { trust });
  assert.equal((await attempt(token)).code, "AUTH_REPLAYED", "another key after the restart");
  assert.equal((await attempt(token, runKey)).code, undefined, "the job's own key still works");
});

test("a claims mismatch tells the client only that it was refused; which claim is for the audit log", async () => {
  const outcome = await attempt(await issuer.mint(AUDIENCE, { claims: { ref: "refs/heads/feature" } }));
  assert.equal(outcome.code, "AUTH_CLAIMS_MISMATCH");
  assert.doesNotMatch(outcome.message, /ref|production|feature|trusted is/);
  const refused = await waitFor("the refusal in the audit log", async () => {
    const text = await readFile(join(site.dir, "state", "audit", "refused.jsonl"), "utf8").catch(() => "");
    return text.includes("refs/heads/feature") ? text : undefined;
  });
  const records = refused
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { message?: string });
  assert.ok(
    records.some((r) => r.message?.includes('claim ref is "refs/heads/feature"')),
    refused,
  );
});

test("an issuer whose keys cannot be read is not asked again for every request", async () => {
  const before = failingHits;
  for (let i = 0; i < 10; i += 1) {
    const outcome = await attempt(await issuer.mint(AUDIENCE, { claims: { iss: failingUrl } }));
    assert.equal(outcome.code, "AUTH_ISSUER_UNAVAILABLE", outcome.message);
  }
  assert.ok(failingHits - before <= 2, `${failingHits - before} requests to the failing issuer`);
});

test("a glob claim admits a matching ref", async () => {
  const token = await issuer.mint(AUDIENCE, { claims: { ref: "refs/heads/release-2026.11" } });
  assert.equal((await attempt(token)).code, undefined);
});

describe("refused with a typed error, nothing changed", () => {
  let snapshot: string;
  before(async () => {
    snapshot = await site.snapshot();
  });

  const cases: [string, () => Promise<string>, string][] = [
    [
      "wrong issuer",
      () => issuer.mint(AUDIENCE, { claims: { iss: "https://token.actions.example.com" } }),
      "AUTH_UNTRUSTED_ISSUER",
    ],
    ["wrong audience", () => issuer.mint("greenlight:another-agent"), "AUTH_WRONG_AUDIENCE"],
    ["expired", () => issuer.mint(AUDIENCE, { issuedAgoS: 600, lifetimeS: 300 }), "AUTH_EXPIRED"],
    [
      "issued in the future beyond the clock skew",
      () => issuer.mint(AUDIENCE, { issuedAgoS: -120, lifetimeS: 600 }),
      "AUTH_NOT_YET_VALID",
    ],
    [
      "an issuer that differs by a trailing slash",
      () => issuer.mint(AUDIENCE, { claims: { iss: `${issuer.url}/` } }),
      "AUTH_UNTRUSTED_ISSUER",
    ],
    [
      "another repository",
      () => issuer.mint(AUDIENCE, { claims: { repository: "acme/shop-fork" } }),
      "AUTH_CLAIMS_MISMATCH",
    ],
    [
      "another ref",
      () => issuer.mint(AUDIENCE, { claims: { ref: "refs/heads/feature" } }),
      "AUTH_CLAIMS_MISMATCH",
    ],
    ["an unknown kid", () => issuer.mint(AUDIENCE, { kid: "rotated-away" }), "AUTH_UNKNOWN_KEY"],
    [
      "a key the issuer does not publish",
      () => issuer.mint(AUDIENCE, { foreignKey: true }),
      "AUTH_BAD_SIGNATURE",
    ],
    [
      "a service the entry does not allow",
      () => issuer.mint(AUDIENCE, { claims: { repository: "acme/other" } }),
      "POLICY_SERVICE_NOT_ALLOWED",
    ],
    [
      "an issuer that cannot be reached",
      () => issuer.mint(AUDIENCE, { claims: { iss: "http://127.0.0.1:9" } }),
      "AUTH_ISSUER_UNAVAILABLE",
    ],
    ["not a JWT", () => Promise.resolve("not-a-token"), "AUTH_MALFORMED"],
  ];
  for (const [name, token, code] of cases) {
    test(`${name}: ${code}`, async () => {
      const outcome = await attempt(await token(), undefined, { cmd: "deploy", image: v1 });
      assert.equal(outcome.code, code, outcome.message);
      assert.ok(outcome.message.length > 10, "the message says what is wrong");
    });
  }

  test("a request whose run key does not match its kid is refused", async () => {
    const token = await issuer.mint(AUDIENCE);
    const signer = await generateRunSigner();
    const other = await generateRunSigner();
    const outcome = await attempt(token, { ...signer, jwk: other.jwk ?? {} });
    assert.equal(outcome.code, "AUTH_MALFORMED");
  });

  test("the server is unchanged after all of the above", async () => {
    assert.equal(await site.snapshot(), snapshot);
  });
});

test("the CLI asks GitHub for a token with the agent's audience when none is handed over", async () => {
  const run = await cli(["status", "--auth", "oidc"], {
    ACTIONS_ID_TOKEN_REQUEST_URL: issuer.githubTokenUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.githubRequestToken,
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(issuer.requested.at(-1), AUDIENCE);
});

test("auth oidc without any ID token says how to get one (exit 2)", async () => {
  const run = await cli(["status", "--auth", "oidc"], {});
  assert.equal(run.code, 2);
  assert.match(run.stdout + run.stderr, /id-token: write/);
});

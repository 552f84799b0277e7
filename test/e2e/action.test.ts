import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";

import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { startLocalIssuer, type LocalIssuer } from "../helpers/oidc-issuer.js";
import { Site } from "../helpers/site.js";
import { runBundledAction, type ActionRun } from "../helpers/action-run.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let agent: RunningAgent;
let keys: Keys;
let github: Server;
let githubUrl = "";
let issuer: LocalIssuer;
const calls: { method: string; path: string; body: Record<string, unknown> }[] = [];

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  keys = await makeKeys(site.dir, "ci");
  issuer = await startLocalIssuer({ sub: "repo:acme/shop:ref:refs/heads/main", repository: "acme/shop" });
  agent = await startDaemon(site, [], {
    trust: {
      keys: [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }],
      oidc: [{ name: "github", issuer: issuer.url, claims: { repository: "acme/shop" } }],
    },
  });
  // A stand-in for the GitHub API that records the Deployments calls.
  github = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      calls.push({
        method: req.method ?? "",
        path: req.url ?? "",
        body: body ? (JSON.parse(body) as Record<string, unknown>) : {},
      });
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify(req.url?.endsWith("/deployments") ? { id: 42 } : { id: 7 }));
    });
  });
  await new Promise<void>((resolve) => github.listen(0, "127.0.0.1", resolve));
  const address = github.address();
  githubUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});

after(async () => {
  github?.close();
  await issuer?.stop();
  await agent?.stop();
  await site?.stop();
});

function runAction(
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<ActionRun> {
  return runBundledAction(
    site.dir,
    { agents: agent.target, service: site.service, key: keys.privatePem, ...inputs },
    {
      GITHUB_API_URL: githubUrl,
      GITHUB_SERVER_URL: "https://github.example",
      GITHUB_REPOSITORY: "acme/shop",
      GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
      GITHUB_REF: "refs/heads/main",
      GITHUB_ACTOR: "octocat",
      GITHUB_RUN_ID: "1234",
      ...extraEnv,
    },
  );
}

test("the bundled action deploys through a real agent: outputs, summary, groups, masks, deployment statuses", async () => {
  calls.length = 0;
  const image = await stack.image({ version: "v1" });
  const run = await runAction({
    image,
    environment: "staging",
    "environment-url": "https://staging.example",
    "github-token": "gh-token-value",
  });
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.result, "succeeded");
  assert.equal(run.outputs.release, "1");
  assert.match(run.outputs.digest ?? "", /^sha256:[a-f0-9]{64}$/);
  assert.match(run.outputs["deploy-id"] ?? "", /^d\d{14}-/);
  assert.match(run.summary, /\| host \| service \| image \|/);
  assert.match(run.summary, /```mermaid\ngantt\n[\s\S]*\n {2}switch \d+ ms :h0switch, \d+, \d+\n/);
  assert.match(run.summary, /✅ succeeded/);
  assert.match(run.stdout, /^::group::127 · pull$/m);
  // Pull progress at the default level: condensed to layers and bytes, never a line per chunk.
  assert.match(run.stdout, /^ +[\d.]+s pull +\d+\/\d+ layers, [\d.]+\/[\d.]+ MB$/m);
  assert.ok(run.stdout.split("\n").filter((l) => / layers/.test(l)).length <= 6, run.stdout);
  assert.match(run.stdout, /^::endgroup::$/m);
  const keyLine = keys.privatePem.split("\n")[1] ?? "";
  assert.match(run.stdout, new RegExp(`^::add-mask::${keyLine.slice(0, 20).replace(/[+/]/g, "\\$&")}`, "m"));
  assert.equal(await site.servedVersion(), "v1");
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path}`),
    [
      "POST /repos/acme/shop/deployments",
      "POST /repos/acme/shop/deployments/42/statuses",
      "POST /repos/acme/shop/deployments/42/statuses",
    ],
  );
  assert.deepEqual(
    {
      environment: calls[0]?.body.environment,
      ref: calls[0]?.body.ref,
      auto_merge: calls[0]?.body.auto_merge,
      required_contexts: calls[0]?.body.required_contexts,
    },
    {
      environment: "staging",
      ref: "0123456789abcdef0123456789abcdef01234567",
      auto_merge: false,
      required_contexts: [],
    },
  );
  assert.equal(calls[1]?.body.state, "in_progress");
  assert.equal(calls[2]?.body.state, "success");
  assert.equal(calls[2]?.body.environment_url, "https://staging.example");
  assert.equal(calls[2]?.body.log_url, "https://github.example/acme/shop/actions/runs/1234");
});

test("a failed deploy fails the step, says where and why, and reports failure to the deployment", async () => {
  calls.length = 0;
  const run = await runAction({
    image: `${stack.registry.host}/testapp:does-not-exist`,
    environment: "staging",
    "github-token": "t",
  });
  assert.equal(run.code, 1, run.stdout);
  assert.equal(run.outputs.result, "failed");
  assert.match(run.stdout, /^::error title=greenlight deploy failed on 127::IMAGE_NOT_FOUND at pull/m);
  // One failure, one annotation; the outputs say what serves (release 1) and what was attempted.
  assert.equal(run.stdout.split("\n").filter((line) => line.startsWith("::error")).length, 1, run.stdout);
  assert.equal(run.outputs.release, "1");
  assert.match(run.outputs.digest ?? "", /^sha256:[a-f0-9]{64}$/);
  assert.equal(run.outputs["previous-release"], "1");
  assert.match(run.outputs["attempted-release"] ?? "", /^\d+$/);
  assert.notEqual(run.outputs["attempted-release"], "1");
  assert.match(run.summary, /IMAGE\\_NOT\\_FOUND|IMAGE_NOT_FOUND/);
  assert.equal(calls.at(-1)?.body.state, "failure");
  assert.equal(await site.servedVersion(), "v1");
});

test("a container's log line cannot act as a workflow command", async () => {
  const image = await stack.image({ version: "v-inject", say: "::set-output name=result::pwned" });
  const run = await runAction({ image });
  assert.equal(run.code, 0, run.stdout);
  assert.ok(run.stdout.includes("set-output name=result::pwned"), "the line is shown");
  const commands = run.stdout.split("\n").filter((line) => line.trimStart().startsWith("::"));
  assert.ok(
    commands.every((line) => /^::(group|endgroup|add-mask|warning|error)/.test(line)),
    commands.join("\n"),
  );
  assert.equal(run.outputs.result, "succeeded");
});

test("bad inputs fail the step with a usage error before anything is sent", async () => {
  const run = await runAction({ image: "", command: "deploy" });
  assert.equal(run.code, 2);
  assert.match(run.stdout, /::error::USAGE: deploy needs input "image"/);
});

test("the CLI in GitLab CI: sections per step, exit code, and GitLab's metadata recorded with the release", async () => {
  const image = await stack.image({ version: "v2" });
  const gitlab = {
    GITLAB_CI: "true",
    CI_PROJECT_PATH: "acme/shop",
    CI_COMMIT_SHA: "feedface",
    CI_COMMIT_REF_NAME: "main",
    GITLAB_USER_LOGIN: "ana",
    CI_JOB_URL: "https://gitlab.example/acme/shop/-/jobs/7",
  };
  const run = await runClient(["deploy", "--image", image], {
    ...gitlab,
    GREENLIGHT_AGENT: agent.target,
    GREENLIGHT_KEY: keys.privatePem,
    GREENLIGHT_SERVICE: site.service,
  }).done;
  assert.equal(run.code, 0, run.stderr);
  // GitLab reads a marker only at a line start, behind ESC[0K; compare with ESC spelled out.
  const shown = run.stdout.split("\u001b").join("<ESC>");
  assert.match(shown, /<ESC>\[0Ksection_start:\d+:greenlight_pull_\d+\[collapsed=true\]\r<ESC>\[0Kpull/);
  assert.match(shown, /<ESC>\[0Ksection_end:\d+:greenlight_switch_\d+\r<ESC>\[0K/);
  assert.match(
    run.stdout,
    /pull +\d+\/\d+ layers, ([\d.]+\/[\d.]+ MB|all already on this host)$/m,
    "pull progress shows in GitLab too",
  );
  const history = await site.history();
  const live = history.find((r) => r.status === "live") as { by?: Record<string, string> } | undefined;
  assert.equal(live?.by?.repository, "acme/shop");
  assert.equal(live?.by?.actor, "ana");
  assert.equal(live?.by?.runUrl, "https://gitlab.example/acme/shop/-/jobs/7");
});

test("keyless: with auth oidc the action deploys with the job's ID token, masked", async () => {
  const image = await stack.image({ version: "v1" });
  const run = await runAction(
    { auth: "oidc", key: "", image },
    {
      ACTIONS_ID_TOKEN_REQUEST_URL: issuer.githubTokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.githubRequestToken,
    },
  );
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.result, "succeeded");
  assert.deepEqual(issuer.requested.slice(-1), ["greenlight:test-agent"]);
  // @actions/core registers the token as a secret: the runner masks it if anything ever prints it.
  assert.match(run.stdout, /^::add-mask::ey/m);
  const record = (await site.state()).records.at(-1);
  assert.equal(record?.by.oidc, "github");
  assert.equal(record?.by.subject, "repo:acme/shop:ref:refs/heads/main");
});

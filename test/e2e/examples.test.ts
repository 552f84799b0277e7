import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { validateAction, validateWorkflow } from "@action-validator/core";
import { parse, parseAllDocuments } from "yaml";
import { startDaemon, type RunningAgent } from "../helpers/daemon.js";
import { startLocalIssuer, type LocalIssuer } from "../helpers/oidc-issuer.js";
import { ROOT, Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

interface InputSpec {
  default?: string;
  options?: string[];
}
type Job = Record<string, unknown> & {
  rules?: { if: string; when: string }[];
  id_tokens?: Record<string, { aud: string }>;
  variables?: Record<string, string>;
  before_script?: string[];
  script?: string[];
};

const read = (path: string) => readFile(join(ROOT, path), "utf8");

async function component(): Promise<{ inputs: Record<string, InputSpec>; body: string }> {
  const text = await read("templates/deploy/template.yml");
  const [header, body] = parseAllDocuments(text);
  const spec = (header?.toJS() as { spec: { inputs: Record<string, InputSpec | null> } }).spec;
  const inputs = Object.fromEntries(Object.entries(spec.inputs).map(([k, v]) => [k, v ?? {}]));
  return { inputs, body: String(body?.toString() ?? "") };
}

/** GitLab's interpolation of `$[[ inputs.x ]]`, refusing what GitLab would refuse. */
function render(
  spec: { inputs: Record<string, InputSpec>; body: string },
  given: Record<string, string>,
): Record<string, Job> {
  for (const name of Object.keys(given)) assert.ok(spec.inputs[name], `input ${name} is not declared`);
  const values: Record<string, string> = {};
  for (const [name, input] of Object.entries(spec.inputs)) {
    const value = given[name] ?? input.default;
    assert.ok(value !== undefined, `required input ${name} is missing`);
    if (input.options)
      assert.ok(input.options.includes(value), `${name}: ${value} is not one of its options`);
    values[name] = value;
  }
  const text = spec.body.replace(/\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g, (_, name: string) => {
    assert.ok(name in values, `the template uses undeclared input ${name}`);
    return values[name] ?? "";
  });
  return parse(text) as Record<string, Job>;
}

test("the GitHub workflow example and action.yml pass the workflow schema; every step uses real inputs", async () => {
  const workflowText = await read("examples/github/deploy.yml");
  assert.deepEqual(validateWorkflow(workflowText).errors, []);
  const actionText = await read("action.yml");
  // The validator's schema predates the node24 runtime; everything else in action.yml is checked against it.
  assert.match(actionText, /^ {2}using: node24$/m);
  assert.deepEqual(validateAction(actionText.replace("using: node24", "using: node20")).errors, []);
  const inputs = (parse(actionText) as { inputs: Record<string, { required?: boolean }> }).inputs;
  const workflow = parse(workflowText) as {
    jobs: Record<string, { steps: { uses?: string; with?: Record<string, string> }[] }>;
  };
  let steps = 0;
  for (const job of Object.values(workflow.jobs)) {
    for (const step of job.steps) {
      if (!step.uses?.startsWith("acme/greenlight@")) continue;
      steps += 1;
      const given = step.with ?? {};
      for (const name of Object.keys(given)) assert.ok(inputs[name], `unknown input ${name}`);
      for (const [name, input] of Object.entries(inputs)) {
        if (input.required) assert.ok(given[name], `required input ${name} missing`);
      }
      assert.ok(given.auth === "oidc" || given.key, "each step authenticates");
    }
  }
  assert.equal(steps, 3);
});

test("the release workflow passes the workflow schema, runs the release check and moves the major tag", async () => {
  const text = await read(".github/workflows/release.yml");
  assert.deepEqual(validateWorkflow(text).errors, []);
  const workflow = parse(text) as {
    on: { push: { tags: string[] } };
    jobs: Record<string, { steps: { run?: string }[] }>;
  };
  assert.deepEqual(workflow.on.push.tags, ["v*.*.*"]);
  const runs = Object.values(workflow.jobs).flatMap((job) => job.steps.map((step) => step.run ?? ""));
  assert.ok(runs.some((run) => run.includes('scripts/release-check.mjs "$GITHUB_REF_NAME"')));
  assert.ok(
    runs.some((run) => run.includes("bash .ci/run")),
    "the whole suite runs before anything is published",
  );
  assert.ok(runs.some((run) => run.includes("sha256sum")));
  assert.ok(runs.some((run) => /git push --force origin "refs\/tags\/\$major"/.test(run)));
});

test("the GitLab pipeline example includes the component with declared inputs only", async () => {
  const spec = await component();
  const pipeline = parse(await read("examples/gitlab/.gitlab-ci.yml")) as {
    include: { component: string; inputs: Record<string, string> }[];
  };
  const jobs = pipeline.include.map((include) => {
    assert.match(include.component, /\/greenlight\/deploy@/);
    return render(spec, include.inputs);
  });
  const names = jobs.flatMap((j) => Object.keys(j));
  assert.deepEqual(names, ["deploy-staging", "deploy-production", "rollback-production"]);
  for (const rendered of jobs) {
    const job = Object.values(rendered)[0] as Job;
    assert.equal(job.when, undefined, "when sits in rules: GitLab refuses when beside rules");
    assert.ok(job.rules?.[0]?.if, "a rule decides when the job runs");
    assert.ok(job.id_tokens?.GREENLIGHT_ID_TOKEN?.aud.startsWith("greenlight:"));
  }
  const rollback = jobs[2]?.["rollback-production"];
  assert.equal(rollback?.rules?.[0]?.when, "manual");
  assert.deepEqual(rollback?.script, ["greenlight rollback"]);
});

// The component's job, run as a GitLab runner would run it, against a real agent.
const stack = useStack();
let site: Site;
let issuer: LocalIssuer;
let agent: RunningAgent;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  issuer = await startLocalIssuer({});
  agent = await startDaemon(site, [], {
    trust: {
      keys: [],
      oidc: [
        {
          name: "gitlab",
          issuer: issuer.url,
          audience: "greenlight:production",
          claims: { project_path: "acme/shop", ref_path: "refs/heads/production" },
        },
      ],
    },
  });
});

after(async () => {
  await agent?.stop();
  await issuer?.stop();
  await site?.stop();
});

test("the component's job, its default install unmodified, deploys through a real agent with the job's ID token", async () => {
  const image = await stack.image({ version: "v1" });
  // What the default install clones: this repository at a release tag (v0, the scheme the component uses),
  // served from a local clone instead of GitHub.
  const source = join(site.dir, "greenlight.git");
  await runGit(["clone", "--quiet", "--bare", ROOT, source]);
  await runGit(["-C", source, "tag", "-f", "v0", "HEAD"]);
  const project = join(site.dir, "project");
  await mkdir(project, { recursive: true });
  const [repository, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)];
  const rendered = render(await component(), {
    job: "deploy-production",
    agents: agent.target,
    service: site.service,
    image: "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
    environment: "production",
    audience: "greenlight:production",
    if: '$CI_COMMIT_BRANCH == "production"',
    source,
  });
  const job = rendered["deploy-production"] as Job;
  const jobVariables: Record<string, string> = {
    CI: "true",
    GITLAB_CI: "true",
    CI_REGISTRY_IMAGE: repository,
    CI_COMMIT_SHA: tag,
    CI_COMMIT_REF_NAME: "production",
    CI_PROJECT_DIR: project,
    CI_PROJECT_PATH: "acme/shop",
    CI_PIPELINE_URL: "https://gitlab.example.com/acme/shop/-/pipelines/9",
    GITLAB_USER_LOGIN: "alice",
  };
  const audience = job.id_tokens?.GREENLIGHT_ID_TOKEN?.aud ?? "";
  const token = await issuer.mint(audience, {
    claims: {
      sub: "project_path:acme/shop:ref_type:branch:ref:production",
      project_path: "acme/shop",
      ref: "production",
      ref_path: "refs/heads/production",
      user_login: "alice",
      pipeline_id: "9",
    },
  });
  // GitLab expands $VARIABLES inside job variables; the runner then puts everything in the environment.
  const expand = (value: string) => value.replace(/\$(\w+)/g, (_, name: string) => jobVariables[name] ?? "");
  const env = {
    // A job image with Node.js and git on PATH, as the component asks of client_image.
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    HOME: site.dir,
    TMPDIR: site.dir,
    ...jobVariables,
    ...Object.fromEntries(Object.entries(job.variables ?? {}).map(([k, v]) => [k, expand(String(v))])),
    GREENLIGHT_ID_TOKEN: token,
  };
  const script = ["set -e", ...(job.before_script ?? []), ...(job.script ?? [])].join("\n");
  const child = spawn("bash", ["-c", script], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, output);
  assert.match(output, /^greenlight \d+\.\d+\.\d+ \(protocol \d+/m, "the installed client ran");
  assert.ok(job.before_script?.[0]?.includes('clone --quiet --depth 1 --branch "$GREENLIGHT_VERSION"'));
  assert.match(output, /section_start:\d+:greenlight_health_\d+/);
  assert.equal(await site.servedVersion(), "v1");
  const record = (await site.state()).records.at(-1);
  assert.deepEqual(
    [record?.by.oidc, record?.by.repository, record?.by.actor],
    ["gitlab", "acme/shop", "alice"],
  );
});

function runGit(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`git ${args.join(" ")}: ${stderr}`)),
    );
  });
}

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { buildTestApp } from "../fixtures/test-app.js";
import { DOCKER_CLI } from "../helpers/run.js";
import { startRegistry, type Registry } from "../helpers/registry.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

// A registry that requires a login (htpasswd), and the logins a server already has: `docker login`'s
// config.json and a credential helper, read by the agent the way the Docker CLI reads them.
const stack = useStack();
const login = { username: "deploy", password: `pw-${randomBytes(8).toString("hex")}` };
let registry: Registry;
let site: Site;
let dir: string;
const images: string[] = [];

before(async () => {
  await stack.ready;
  registry = await startRegistry(login);
  dir = await mkdtemp(join(tmpdir(), "gl-registry-login-"));
  // The test's own pushes log in with a config of their own, so nothing of it is left where the agent looks.
  const pushConfig = join(dir, "push");
  await mkdir(pushConfig);
  await dockerLogin(pushConfig);
  const previous = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = pushConfig;
  try {
    for (const version of ["auth-v1", "auth-v2", "auth-v3"])
      images.push(await buildTestApp(registry.host, { version }));
  } finally {
    if (previous === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = previous;
  }
  site = await Site.start({ registry: registry.host });
});

/** `docker login --password-stdin` into `configDir`: the password never appears in a process list. */
function dockerLogin(configDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER_CLI, ["login", "-u", login.username, "--password-stdin", registry.host], {
      env: { ...process.env, DOCKER_CONFIG: configDir },
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`docker login failed: ${stderr}`)),
    );
    child.stdin.end(login.password);
  });
}

after(async () => {
  await site?.stop();
  await registry?.stop();
});

/** Points the agent at a Docker config directory holding `config`. */
async function dockerConfig(name: string, config: Record<string, unknown>): Promise<string> {
  const configDir = join(dir, name);
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, "config.json"), JSON.stringify(config));
  await writeFile(site.configFile, stringify({ ...site.config, docker: { config_dir: configDir } }));
  return configDir;
}

test("without a login the pull is refused with what to do, and nothing changes", async () => {
  await dockerConfig("empty", {});
  const run1 = await site.deploy(images[0] ?? "");
  assert.equal(run1.result?.status, "failed", run1.stdout + run1.stderr);
  assert.equal(run1.result?.error?.code, "REGISTRY_AUTH_FAILED");
  assert.match(
    run1.result?.error?.message ?? "",
    /add 127\.0\.0\.1:\d+ under registries: .* or run docker login/,
  );
  assert.deepEqual(await site.containers(), []);
});

test("docker login's config.json is read: the pull succeeds and no password is printed", async () => {
  const auth = Buffer.from(`${login.username}:${login.password}`).toString("base64");
  await dockerConfig("logged-in", { auths: { [registry.host]: { auth } } });
  const run1 = await site.deploy(images[0] ?? "");
  assert.equal(run1.result?.status, "succeeded", run1.stdout + run1.stderr);
  assert.equal(await site.servedVersion(), "auth-v1");
  assert.ok(!`${run1.stdout}${run1.stderr}`.includes(login.password), "the password is not in the output");
});

test("a credential helper is asked the way Docker asks it, and its answer is used", async () => {
  const bin = join(dir, "bin");
  await mkdir(bin, { recursive: true });
  const asked = join(dir, "helper-asked");
  const helper = join(bin, "docker-credential-gltest");
  await writeFile(
    helper,
    `#!/bin/sh\n[ "$1" = get ] || exit 1\nread host\necho "$host" >> ${asked}\nprintf '{"ServerURL":"%s","Username":"${login.username}","Secret":"${login.password}"}' "$host"\n`,
  );
  await chmod(helper, 0o755);
  await dockerConfig("helper", { credHelpers: { [registry.host]: "gltest" } });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ""}`;
  try {
    const run1 = await site.deploy(images[1] ?? "");
    assert.equal(run1.result?.status, "succeeded", run1.stdout + run1.stderr);
    assert.equal(await site.servedVersion(), "auth-v2");
    assert.equal((await readFile(asked, "utf8")).trim(), registry.host);
    assert.ok(!`${run1.stdout}${run1.stderr}`.includes(login.password));
  } finally {
    process.env.PATH = path;
  }
  // A helper that is not installed is named, and the release that serves keeps serving.
  await dockerConfig("missing-helper", { credsStore: "not-installed" });
  const run2 = await site.deploy(images[2] ?? "");
  assert.equal(run2.result?.error?.code, "REGISTRY_AUTH_FAILED");
  assert.match(
    run2.result?.error?.message ?? "",
    /docker-credential-not-installed for 127\.0\.0\.1:\d+ is not installed/,
  );
  assert.equal(await site.servedVersion(), "auth-v2");
});

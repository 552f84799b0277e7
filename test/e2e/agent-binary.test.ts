import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT } from "../helpers/site.js";

let binary: string;
let root: string;

function run(
  command: string,
  args: string[],
  env: Record<string, string> = { PATH: process.env.PATH ?? "" },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// A server without Node.js: nothing on PATH, no HOME, no node to find.
const NO_NODE = { PATH: "/nonexistent" };

before(async () => {
  // The build's own step, as `npm run build` runs it: what is tested is what the build makes.
  const built = await run(process.execPath, ["scripts/build-binary.mjs"]);
  assert.equal(built.code, 0, built.stdout + built.stderr);
  binary = join(ROOT, "build", `greenlight-agent-linux-${process.arch}`);
  root = await mkdtemp(join(tmpdir(), "greenlight-binary-root-"));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("the agent's single executable runs with no Node.js on PATH and says nothing but its answer", async () => {
  const version = await run(binary, ["--version"], NO_NODE);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^greenlight-agent \d+\.\d+\.\d+ \(protocol \d+, node v\d+/);
  assert.equal(version.stderr, "", "no warning from the executable's loader");
  const missing = await run(binary, ["check-config", "--config", "/nonexistent.yml"], NO_NODE);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /CONFIG_NOT_FOUND: cannot read config file \/nonexistent\.yml/);
});

test("install from the single executable puts it on PATH and starts it without node", async () => {
  const config = join(root, "..", `${root.split("/").pop()}.yml`);
  await writeFile(
    config,
    "id: web-1\nstate_dir: /var/lib/greenlight\nservices:\n  web:\n    image: 127.0.0.1:5000/web\n    port: 8080\n    nginx: { upstream_file: /etc/nginx/conf.d/web.upstream.conf }\n",
  );
  try {
    const installed = await run(
      binary,
      ["install", "--root", root, "--config", config, "--no-start"],
      NO_NODE,
    );
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    assert.match(installed.stdout, /a single executable: no Node\.js needed/);
    const copy = join(root, "usr/local/lib/greenlight/greenlight-agent");
    assert.equal((await stat(copy)).size, (await stat(binary)).size);
    assert.equal(((await stat(copy)).mode & 0o777).toString(8), "755");
    assert.equal(
      await readlink(join(root, "usr/local/bin/greenlight-agent")),
      "/usr/local/lib/greenlight/greenlight-agent",
    );
    const unit = await readFile(join(root, "etc/systemd/system/greenlight-agent.service"), "utf8");
    assert.match(
      unit,
      /^ExecStart=\/usr\/local\/lib\/greenlight\/greenlight-agent run --config \/etc\/greenlight\/agent\.yml$/m,
    );
    const copied = await run(copy, ["--version"], NO_NODE);
    assert.equal(copied.code, 0, copied.stderr);
  } finally {
    await rm(config, { force: true });
  }
});

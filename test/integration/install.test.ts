import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT } from "../helpers/site.js";

let root: string;
let configFile: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "greenlight-root-"));
  configFile = join(root, "..", `${root.split("/").pop()}.yml`);
  await writeFile(
    configFile,
    `id: web-1
state_dir: /var/lib/greenlight
services:
  web:
    image: 127.0.0.1:5000/web
    port: 8080
    nginx:
      upstream_file: /etc/nginx/conf.d/web.upstream.conf
`,
  );
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(configFile, { force: true });
});

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const agent = (...args: string[]) => run(process.execPath, ["--import", "tsx", "agent/main.ts", ...args]);
const mode = async (path: string) => ((await stat(join(root, path))).mode & 0o777).toString(8);
const present = (path: string) =>
  access(join(root, path)).then(
    () => true,
    () => false,
  );

test("install into a root: config, state, the agent and a unit that systemd-analyze verify accepts", async () => {
  const installed = await agent("install", "--root", root, "--config", configFile, "--no-start");
  assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  assert.match(installed.stdout, /wrote \/etc\/systemd\/system\/greenlight-agent\.service/);
  assert.deepEqual(
    await Promise.all(
      [
        "etc",
        "etc/greenlight",
        "etc/greenlight/agent.yml",
        "var/lib/greenlight",
        "usr/local/lib/greenlight/greenlight-agent.js",
        "etc/systemd/system/greenlight-agent.service",
      ].map(mode),
    ),
    ["755", "750", "640", "750", "755", "644"],
  );
  // greenlight-agent is on PATH: a link to what was installed.
  assert.equal(
    await readlink(join(root, "usr/local/bin/greenlight-agent")),
    "/usr/local/lib/greenlight/greenlight-agent.js",
  );
  const unit = await readFile(join(root, "etc/systemd/system/greenlight-agent.service"), "utf8");
  assert.match(unit, /^User=greenlight$/m);
  assert.match(unit, /^SupplementaryGroups=docker$/m);
  assert.match(unit, /^NoNewPrivileges=yes$/m);
  assert.match(unit, /^ProtectSystem=strict$/m);
  assert.match(unit, /^ReadWritePaths=\/var\/lib\/greenlight .*-\/etc\/nginx\/conf\.d/m);
  assert.match(unit, /^Restart=on-failure$/m);
  assert.doesNotMatch(unit, /^Environment=.*(PASSWORD|KEY|TOKEN)/m, "no secret in the environment");
  const verify = await run("systemd-analyze", [
    "verify",
    join(root, "etc/systemd/system/greenlight-agent.service"),
  ]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), "", "no warnings");
});

test("the unit contains the agent: own /run directory only, memory and tasks capped, syscalls filtered", async () => {
  const unit = await readFile(join(root, "etc/systemd/system/greenlight-agent.service"), "utf8");
  const writable = /^ReadWritePaths=(.*)$/m.exec(unit)?.[1]?.split(" ") ?? [];
  assert.ok(!writable.includes("-/run") && !writable.includes("/run"), writable.join(" "));
  assert.match(unit, /^RuntimeDirectory=greenlight$/m);
  assert.match(unit, /^MemoryMax=\d+M$/m);
  assert.match(unit, /^TasksMax=\d+$/m);
  assert.match(unit, /^SystemCallFilter=@system-service$/m);
  const security = await run("systemd-analyze", [
    "security",
    "--offline=true",
    join(root, "etc/systemd/system/greenlight-agent.service"),
  ]);
  const exposure = Number(
    /Overall exposure level for .*: ([\d.]+)/.exec(security.stdout + security.stderr)?.[1],
  );
  assert.ok(exposure <= 3, `systemd-analyze security: ${exposure} (was 4.6 before the review)`);
});

test("uninstall keeps config and state; --purge removes them too", async () => {
  const kept = await agent("uninstall", "--root", root);
  assert.equal(kept.code, 0, kept.stderr);
  assert.equal(await present("etc/systemd/system/greenlight-agent.service"), false);
  assert.equal(await present("usr/local/lib/greenlight"), false);
  assert.equal(await lstat(join(root, "usr/local/bin/greenlight-agent")).catch(() => undefined), undefined);
  assert.equal(await present("etc/greenlight/agent.yml"), true);
  assert.equal(await present("var/lib/greenlight"), true);
  const purged = await agent("uninstall", "--root", root, "--purge");
  assert.equal(purged.code, 0, purged.stderr);
  assert.equal(await present("etc/greenlight"), false);
  assert.equal(await present("var/lib/greenlight"), false);
});

test("install refuses an invalid config and installs nothing", async () => {
  const bad = join(root, "..", `${root.split("/").pop()}-bad.yml`);
  await writeFile(bad, "id: web-1\nstate_dir: /var/lib/greenlight\nservices:\n  web:\n    port: eighty\n");
  try {
    const refused = await agent("install", "--root", root, "--config", bad, "--no-start");
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /services\.web\.port/);
    assert.equal(await present("etc/systemd/system/greenlight-agent.service"), false);
  } finally {
    await rm(bad, { force: true });
  }
});

test("the unit documented in packaging/ is the one install writes", async () => {
  const { DOCUMENTED_UNIT } = await import("../../agent/install/unit-file.js");
  assert.equal(await readFile(join(ROOT, "packaging", "greenlight-agent.service"), "utf8"), DOCUMENTED_UNIT);
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateSigningKeys } from "../../shared/signing.js";
import { ROOT } from "../helpers/site.js";

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "greenlight-check-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function checkConfig(file: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "agent", "main.ts"), "check-config", "--config", file],
      { cwd: ROOT },
      (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
    );
  });
}

test("check-config lists every mistake with its key path and line, nginx -t included, and exits 2", async () => {
  await writeFile(join(dir, "broken.conf"), "events {\n");
  const file = join(dir, "agent.yml");
  await writeFile(
    file,
    `id: web-1
state_dir: ${dir}/state
trust:
  keys:
    - name: ci
      public_key_file: ${dir}/missing.pub
services:
  web:
    image: 127.0.0.1:5000/web:latest
    port: 8080
    env_file: ${dir}/web.env
    health: { path: /healthz, timeout: sixty }
    drain: 30s
    nginx:
      upstream_file: ${dir}/no-such-dir/web.conf
      test: ["nginx", "-t", "-c", "${dir}/broken.conf"]
    switch:
      nft: ${dir}/no-such-nft
`,
  );
  const { code, stdout } = await checkConfig(file);
  assert.equal(code, 2, stdout);
  const lines = stdout.trim().split("\n");
  const expect: [number, string, RegExp][] = [
    [6, "trust.keys.0.public_key_file", /cannot read/],
    [9, "services.web.image", /without tag/],
    [11, "services.web.env_file", /cannot read/],
    [12, "services.web.health.timeout", /not a duration/],
    [15, "services.web.nginx.upstream_file", /is not a directory/],
    [16, "services.web.nginx.test", /nginx -t .*failed: .*unexpected end of file/],
    [
      18,
      "services.web.switch.nft",
      /no-such-nft --version` failed: .*NAT mode needs it \(Debian package nftables\)/,
    ],
  ];
  for (const [line, path, message] of expect) {
    const found = lines.find((l) => l.startsWith(`${file}:${line}: ${path}: `));
    assert.ok(found, `missing ${path} at line ${line} in:\n${stdout}`);
    assert.match(found, message);
  }
  assert.match(lines.at(-1) ?? "", /^7 problem\(s\)/);
});

test("a correct config passes check-config", async () => {
  const { publicPem } = await generateSigningKeys();
  await mkdir(join(dir, "conf.d"), { recursive: true });
  await writeFile(join(dir, "ci.pub"), publicPem);
  await writeFile(join(dir, "good.conf"), "events {}\n");
  const file = join(dir, "good.yml");
  await writeFile(
    file,
    `id: web-1
state_dir: ${dir}/state
trust:
  keys:
    - name: ci
      public_key_file: ${dir}/ci.pub
services:
  web:
    image: 127.0.0.1:5000/web
    port: 8080
    nginx:
      upstream_file: ${dir}/conf.d/web.conf
      test: ["nginx", "-t", "-c", "${dir}/good.conf"]
`,
  );
  const { code, stdout } = await checkConfig(file);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /config ok: agent web-1, 1 service/);
});

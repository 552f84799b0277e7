import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

// The bundles as users run them (dist/, built by the build and committed).
const run = async (bundle: string, args: string[]) =>
  promisify(execFile)(process.execPath, [join("dist", bundle), ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

test("both programs say their version, the same one, package.json's", async () => {
  const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
  const client = await run("greenlight.js", ["--version"]);
  const agent = await run("greenlight-agent.js", ["--version"]);
  assert.match(
    client.stdout,
    new RegExp(`^greenlight ${version.replace(/\./g, "\\.")} \\(protocol \\d+, node v`),
  );
  assert.match(
    agent.stdout,
    new RegExp(`^greenlight-agent ${version.replace(/\./g, "\\.")} \\(protocol \\d+`),
  );
});

test("keygen never overwrites a key unless told to", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "gl-keygen-")), "ci.key");
  assert.equal((await run("greenlight.js", ["keygen", "--out", out])).code, 0);
  const first = await readFile(out, "utf8");
  const again = await run("greenlight.js", ["keygen", "--out", out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /ci\.key exists; keep it, or replace the pair with --force/);
  assert.equal(await readFile(out, "utf8"), first, "the key is untouched");
  assert.equal((await run("greenlight.js", ["keygen", "--out", out, "--force"])).code, 0);
  assert.notEqual(await readFile(out, "utf8"), first, "replaced when asked");
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../helpers/site.js";

const exec = promisify(execFile);

test("npm pack + install into an empty prefix: the bundles only, no dependencies, both programs run", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gl-package-"));
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed);
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "CHANGELOG.md",
    "LICENSE",
    "README.md",
    "action.yml",
    "dist/greenlight-agent.js",
    "dist/greenlight.js",
    "package.json",
  ]);
  const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  assert.equal(manifest.dependencies, undefined, "everything the programs need is in the bundles");

  const prefix = join(dir, "prefix");
  await exec("npm", [
    "install",
    "--prefix",
    prefix,
    "--offline",
    "--no-audit",
    "--no-fund",
    join(dir, packed.filename),
  ]);
  const bin = join(prefix, "node_modules", ".bin");
  const client = await exec(join(bin, "greenlight"), ["--version"]);
  assert.match(client.stdout, new RegExp(`^greenlight ${String(manifest.version).replace(/\./g, "\\.")} `));
  const agent = await exec(join(bin, "greenlight-agent"), ["--version"]);
  assert.match(agent.stdout, /^greenlight-agent /);
  const usage = await exec(join(bin, "greenlight"), ["deploy"]).catch(
    (error: { code: number; stderr: string }) => error,
  );
  assert.equal((usage as { code: number }).code, 2);
  assert.match((usage as { stderr: string }).stderr, /deploy needs --agent/);
});

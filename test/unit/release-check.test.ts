import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT } from "../helpers/site.js";

let copy: string;
let version: string;

function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "scripts", "release-check.mjs"), ...args, "--root", copy],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function edit(file: string, change: (text: string) => string): Promise<() => Promise<void>> {
  const path = join(copy, file);
  const before = await readFile(path, "utf8");
  await writeFile(path, change(before));
  return () => writeFile(path, before);
}

// What a tag would publish, in a copy of the repository made ready for its release: the changelog's unreleased
// changes moved under the package's version.
before(async () => {
  copy = await mkdtemp(join(tmpdir(), "greenlight-release-"));
  for (const path of [
    "package.json",
    "CHANGELOG.md",
    "README.md",
    "LICENSE",
    "action.yml",
    "dist",
    "templates",
    "examples",
  ])
    await cp(join(ROOT, path), join(copy, path), { recursive: true });
  version = (JSON.parse(await readFile(join(copy, "package.json"), "utf8")) as { version: string }).version;
  await edit("CHANGELOG.md", (text) =>
    text.replace(`## ${version}\n`, "## 0.0.0\n").replace("## Unreleased\n", `## ${version}\n`),
  );
});

after(async () => {
  await rm(copy, { recursive: true, force: true });
});

test("a release tag whose version, changelog, bundles, references and package agree is ready; --notes prints its section", async () => {
  const ready = await check(`v${version}`);
  assert.equal(ready.code, 0, ready.stderr);
  assert.match(
    ready.stdout,
    new RegExp(`release-check v${version}: ready \\(package ${version}, major tag v0, 7 files\\)`),
  );
  const notes = await check(`v${version}`, "--notes");
  assert.match(notes.stdout, /^### Added/m);
});

test("what a tag would get wrong is named: another version, a stale reference, unreleased changes, a missing bundle", async () => {
  const other = await check("v9.9.9");
  assert.equal(other.code, 1);
  assert.match(other.stderr, /package\.json says \d+\.\d+\.\d+, the tag v9\.9\.9/);
  assert.match(other.stderr, /CHANGELOG\.md has no section "## 9\.9\.9"/);
  assert.match(other.stderr, /dist\/greenlight\.js --version says .*, not 9\.9\.9/);
  assert.match(other.stderr, /README\.md refers to v0; this release is v9/);

  const restoreReadme = await edit("README.md", (text) =>
    text.replace("acme/greenlight@v0", "acme/greenlight@v1"),
  );
  const restoreLog = await edit(
    "CHANGELOG.md",
    (text) => `${text.replace("# Changelog\n", "# Changelog\n\n## Unreleased\n\n- something new\n")}`,
  );
  const stale = await check(`v${version}`);
  await restoreReadme();
  await restoreLog();
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /README\.md refers to v1; this release is v0/);
  assert.match(stale.stderr, /CHANGELOG\.md lists unreleased changes/);

  await rm(join(copy, "dist", "action.js"));
  const missing = await check(`v${version}`);
  await cp(join(ROOT, "dist", "action.js"), join(copy, "dist", "action.js"));
  assert.match(missing.stderr, /dist\/action\.js is missing/);
  assert.equal((await check("0.1")).code, 2, "not a tag at all");
});

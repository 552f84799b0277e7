#!/usr/bin/env node
// What a release tag would publish, checked before it is published: the tag, package.json, the changelog and
// the bundles agree on one version; every place that tells users which version to use (README, examples, the
// GitLab component) names the same major tag; the npm package holds exactly what it should.
// Usage: node scripts/release-check.mjs vX.Y.Z [--root DIR] [--notes]
//   --notes prints the changelog's section for the version (the release's notes) instead of the report.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { root: { type: "string", default: "." }, notes: { type: "boolean", default: false } },
});
const root = values.root;
const tag = positionals[0] ?? "";
const problems = [];
const read = (path) => (existsSync(join(root, path)) ? readFileSync(join(root, path), "utf8") : undefined);

const match = /^v(\d+)\.(\d+)\.(\d+)$/.exec(tag);
if (!match) {
  process.stderr.write(`release-check: "${tag}" is not a release tag (vMAJOR.MINOR.PATCH, e.g. v0.2.1)\n`);
  process.exit(2);
}
const version = tag.slice(1);
const major = `v${match[1]}`;

const pkg = JSON.parse(read("package.json") ?? "{}");
if (pkg.version !== version) problems.push(`package.json says ${pkg.version}, the tag ${tag}`);

const changelog = read("CHANGELOG.md") ?? "";
const section = new RegExp(
  `^## \\[?${version.replace(/\./g, "\\.")}\\]?[^\\n]*\\n([\\s\\S]*?)(?=^## |(?![\\s\\S]))`,
  "m",
).exec(changelog);
if (!section)
  problems.push(`CHANGELOG.md has no section "## ${version}" (rename "## Unreleased" when releasing)`);
const unreleased = /^## Unreleased[^\n]*\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(changelog)?.[1]?.trim();
if (unreleased) problems.push(`CHANGELOG.md lists unreleased changes: move them under "## ${version}"`);

for (const file of [
  "LICENSE",
  "README.md",
  "action.yml",
  "dist/greenlight.js",
  "dist/greenlight-agent.js",
  "dist/action.js",
]) {
  if (!existsSync(join(root, file))) problems.push(`${file} is missing`);
}
for (const bin of Object.values(pkg.bin ?? {})) {
  const path = join(root, bin);
  if (existsSync(path) && (statSync(path).mode & 0o111) === 0) problems.push(`${bin} is not executable`);
  if (existsSync(path)) {
    const said = execFileSync(process.execPath, [path, "--version"], { encoding: "utf8" });
    if (!said.includes(` ${version} `))
      problems.push(`${bin} --version says "${said.trim()}", not ${version}`);
  }
}
const action = read("action.yml") ?? "";
const main = /^\s+main:\s*(\S+)/m.exec(action)?.[1];
if (!main || !existsSync(join(root, main)))
  problems.push(`action.yml runs ${main ?? "nothing"}, which is missing`);

// Where users are told which version to use: the major tag everywhere (the release workflow moves it).
const references = [
  ["README.md", /acme\/greenlight@([^\s#"'`]+)/g],
  ["README.md", /\/greenlight\/deploy@([^\s#"'`]+)/g],
  ["README.md", /--branch (v[^\s"'`]+) https:\/\/github\.com\/acme\/greenlight/g],
  ["examples/github/deploy.yml", /acme\/greenlight@([^\s#"'`]+)/g],
  ["examples/gitlab/.gitlab-ci.yml", /\/greenlight\/deploy@([^\s#"'`]+)/g],
];
for (const [file, pattern] of references) {
  for (const found of (read(file) ?? "").matchAll(pattern)) {
    if (found[1] !== major && found[1] !== tag)
      problems.push(`${file} refers to ${found[1]}; this release is ${major} (${tag})`);
  }
}
const template = read("templates/deploy/template.yml") ?? "";
const templateDefault = /^ {4}version:[\s\S]*?^ {6}default: (\S+)/m.exec(template)?.[1];
if (templateDefault !== major)
  problems.push(`the GitLab component installs ${templateDefault ?? "nothing"} by default, not ${major}`);

// The npm package: the whitelist, nothing more, nothing less.
const packed = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" }),
)[0].files.map((f) => f.path);
const expected = ["package.json", ...pkg.files].sort();
if (JSON.stringify([...packed].sort()) !== JSON.stringify(expected)) {
  problems.push(`npm pack would publish ${[...packed].sort().join(", ")}; expected ${expected.join(", ")}`);
}
if (Object.keys(pkg.dependencies ?? {}).length > 0) {
  problems.push(
    `package.json has runtime dependencies (${Object.keys(pkg.dependencies).join(", ")}); the bundles hold everything`,
  );
}

if (values.notes) {
  process.stdout.write(`${(section?.[1] ?? "").trim()}\n`);
  process.exit(problems.length ? 1 : 0);
}
if (problems.length) {
  process.stderr.write(`release-check ${tag}: not ready\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(
  `release-check ${tag}: ready (package ${version}, major tag ${major}, ${packed.length} files)\n`,
);

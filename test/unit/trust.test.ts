import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { AuditLog } from "../../agent/state/audit-log.js";
import { globMatches } from "../../agent/server/glob.js";
import { TokenPins } from "../../agent/server/guard.js";
import { parseConfig } from "../../agent/config/load.js";

test("claim globs: * spans any characters, ? one, everything else is literal", () => {
  assert.ok(globMatches("refs/heads/release-*", "refs/heads/release-2026.11"));
  assert.ok(globMatches("acme/*", "acme/shop"));
  assert.ok(globMatches("v?", "v1"));
  assert.ok(!globMatches("acme/shop", "acme/shop-fork"));
  assert.ok(!globMatches("refs/heads/main", "refs/heads/mainline"));
  assert.ok(!globMatches("a.b", "axb"), "a dot is a dot");
  assert.ok(!globMatches("refs/heads/release-*", "refs/tags/release-1"));
});

test("an ID token is pinned to the first run key until it expires", async () => {
  let now = 1_000_000_000_000;
  const pins = new TokenPins(() => now);
  const exp = now / 1000 + 300;
  assert.equal(await pins.pin("token-1", "run-key-a", exp), true);
  assert.equal(await pins.pin("token-1", "run-key-a", exp), true, "the same run may reconnect");
  assert.equal(await pins.pin("token-1", "run-key-b", exp), false, "another key may not use it");
  now += 400_000;
  assert.equal(
    await pins.pin("token-1", "run-key-b", exp),
    true,
    "an expired pin is forgotten (the token is refused anyway)",
  );
});

test("ID-token pins survive a restart: a fresh agent reads them back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-pins-"));
  const file = join(dir, "state", "oidc-pins.json");
  const exp = Date.now() / 1000 + 300;
  const before = new TokenPins(Date.now, file);
  assert.equal(await before.pin("token-1", "run-key-a", exp), true);
  const after = new TokenPins(Date.now, file);
  await after.load();
  assert.equal(await after.pin("token-1", "run-key-b", exp), false, "still pinned to run-key-a");
  assert.equal(await after.pin("token-1", "run-key-a", exp), true);
  await rm(dir, { recursive: true, force: true });
});

const oidcConfig = (entry: string) => `id: web-1
state_dir: /var/lib/greenlight
trust:
  oidc:
    - ${entry}
services:
  web:
    image: 127.0.0.1:5000/web
    port: 8080
    nginx: { upstream_file: /etc/nginx/conf.d/web.upstream.conf }
`;

test("keyless trust on a shared issuer must pin whose tokens it trusts", () => {
  const github = "issuer: https://token.actions.githubusercontent.com";
  const gitlab = "issuer: https://gitlab.com";
  for (const refused of [
    `${github}
      claims: { ref: refs/heads/main }`,
    `${github}
      claims: { repository: "*" }`,
    `${github}
      claims: { repository: "*/shop" }`,
    `${gitlab}
      claims: { project_path: "*" }`,
    `${gitlab}
      claims: { ref_path: refs/heads/main }`,
  ]) {
    assert.throws(() => parseConfig(oidcConfig(refused)), /issues tokens to every/, refused);
  }
  for (const accepted of [
    `${github}
      claims: { repository: acme/shop }`,
    `${github}
      claims: { repository: "acme/*", ref: refs/heads/main }`,
    `${github}
      claims: { repository_id: "123456" }`,
    `${gitlab}
      claims: { project_path: acme/shop }`,
    // A self-hosted issuer is the operator's own: any claim pins it.
    `issuer: https://gitlab.acme.example
      claims: { ref_path: refs/heads/main }`,
  ]) {
    assert.ok(parseConfig(oidcConfig(accepted)), accepted);
  }
  assert.throws(
    () =>
      parseConfig(
        oidcConfig(`${github}
      jwks_url: http://keys.example/jwks
      claims: { repository: acme/shop }`),
      ),
    /jwks_url must be an https URL/,
  );
});

test("the audit log rotates by size, keeps a bounded number of files, and reads back in order", async () => {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-audit-"));
  try {
    const audit = new AuditLog(dir, 600, 2);
    for (let i = 0; i < 40; i += 1) await audit.append({ outcome: "accepted", service: `s${i}` });
    const files = (await readdir(join(dir, "audit"))).sort();
    assert.deepEqual(files, ["audit.1.jsonl", "audit.2.jsonl", "audit.jsonl"]);
    const records = await audit.read();
    assert.ok(records.length > 0 && records.length < 40, "old records were dropped");
    const ids = records.map((r) => Number(r.service?.slice(1)));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      "oldest first",
    );
    assert.equal(ids.at(-1), 39, "the newest is kept");
    assert.deepEqual(
      (await audit.read({ service: "s39" })).map((r) => r.service),
      ["s39"],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

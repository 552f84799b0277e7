import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { AuditLog } from "../../agent/state/audit-log.js";
import { globMatches } from "../../agent/server/glob.js";
import { TokenPins } from "../../agent/server/guard.js";

test("claim globs: * spans any characters, ? one, everything else is literal", () => {
  assert.ok(globMatches("refs/heads/release-*", "refs/heads/release-2026.11"));
  assert.ok(globMatches("acme/*", "acme/shop"));
  assert.ok(globMatches("v?", "v1"));
  assert.ok(!globMatches("acme/shop", "acme/shop-fork"));
  assert.ok(!globMatches("refs/heads/main", "refs/heads/mainline"));
  assert.ok(!globMatches("a.b", "axb"), "a dot is a dot");
  assert.ok(!globMatches("refs/heads/release-*", "refs/tags/release-1"));
});

test("an ID token is pinned to the first run key until it expires", () => {
  let now = 1_000_000_000_000;
  const pins = new TokenPins(() => now);
  const exp = now / 1000 + 300;
  assert.ok(pins.pin("token-1", "run-key-a", exp));
  assert.ok(pins.pin("token-1", "run-key-a", exp), "the same run may reconnect");
  assert.ok(!pins.pin("token-1", "run-key-b", exp), "another key may not use it");
  now += 400_000;
  assert.ok(
    pins.pin("token-1", "run-key-b", exp),
    "an expired pin is forgotten (the token is refused anyway)",
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

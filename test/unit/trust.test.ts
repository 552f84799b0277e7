import assert from "node:assert/strict";
import { test } from "node:test";
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

import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "../../agent/config/load.js";
import { findService } from "../../agent/config/schema.js";
import { ClientAddresses, limitKey } from "../../agent/server/client-address.js";
import { ConnectionGuard } from "../../agent/server/guard.js";
import { RefusalLog } from "../../agent/server/refusal-log.js";
import { loadTrustedKeys } from "../../agent/server/trust.js";
import { AuditLog } from "../../agent/state/audit-log.js";
import { generateSigningKeys } from "../../shared/signing.js";

test("a trusted proxy's X-Forwarded-For names the client; anyone else's is ignored", () => {
  const addresses = new ClientAddresses(["127.0.0.1", "10.0.0.0/8"]);
  assert.equal(addresses.resolve("127.0.0.1", "203.0.113.7"), "203.0.113.7");
  assert.equal(addresses.resolve("::ffff:127.0.0.1", "203.0.113.7"), "203.0.113.7");
  // The client may put anything on the left; the hops trusted proxies added are read from the right.
  assert.equal(addresses.resolve("127.0.0.1", "127.0.0.1, 198.51.100.1, 10.1.2.3"), "198.51.100.1");
  assert.equal(addresses.resolve("198.51.100.9", "127.0.0.1"), "198.51.100.9", "untrusted peer");
  assert.equal(addresses.resolve("127.0.0.1", undefined), "127.0.0.1");
  assert.equal(addresses.resolve("127.0.0.1", "not-an-ip"), "127.0.0.1");
  assert.throws(() => new ClientAddresses(["10.0.0.0/33"]), /not an address or CIDR/);
});

test("limits count an IPv6 /64 as one address", () => {
  assert.equal(limitKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(limitKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  assert.equal(limitKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(limitKey("192.0.2.1"), "192.0.2.1");
});

test("when every pending slot is taken, the connection that waited longest makes room", () => {
  const guard = new ConnectionGuard(Date.now, { pending: 3, pendingPerAddress: 2, failuresPerMinute: 30 });
  const evicted: string[] = [];
  guard.open("a", () => evicted.push("a1"));
  guard.open("b", () => evicted.push("b1"));
  const releaseC = guard.open("c", () => evicted.push("c1"));
  guard.open("d", () => evicted.push("d1"));
  assert.deepEqual(evicted, ["a1"]);
  assert.equal(guard.waiting, 3);
  releaseC();
  guard.open("e", () => evicted.push("e1"));
  assert.deepEqual(evicted, ["a1"], "a freed slot is used before anyone is evicted");
  guard.open("e", () => undefined);
  assert.match(guard.refusal("e") ?? "", /too many connections from this address/);
});

test("failure windows are kept per address up to a bound, and an address over its limit is refused", () => {
  let now = 0;
  const guard = new ConnectionGuard(() => now, { pending: 64, pendingPerAddress: 16, failuresPerMinute: 3 });
  for (let i = 0; i < 3; i += 1) guard.failed("x");
  assert.match(guard.refusal("x") ?? "", /too many rejected requests/);
  now = 61_000;
  assert.equal(guard.refusal("x"), undefined, "a minute later it may try again");
  for (let i = 0; i < 20_000; i += 1) guard.failed(`10.${i >> 8}.${i & 255}.1`);
  assert.ok(guard.tracked <= 10_000, `${guard.tracked} addresses tracked`);
});

test("refusals are written once per address and code, then counted; accepted requests are in another file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-refusals-"));
  const refusals = new RefusalLog(new AuditLog(dir, undefined, undefined, undefined, "refused"));
  const audit = new AuditLog(dir);
  await audit.append({ outcome: "accepted", peer: "192.0.2.1", command: "deploy" });
  for (let i = 0; i < 500; i += 1) refusals.record({ peer: "198.51.100.7", code: "PROTOCOL_ERROR" });
  refusals.record({ peer: "198.51.100.8", code: "AUTH_BAD_SIGNATURE" });
  await refusals.close();
  const refused = (await readFile(join(dir, "audit", "refused.jsonl"), "utf8")).trim().split("\n");
  assert.equal(refused.length, 3);
  assert.equal((JSON.parse(refused[2] ?? "{}") as { count?: number }).count, 499);
  const accepted = await audit.read();
  assert.deepEqual(
    accepted.map((r) => r.outcome),
    ["accepted"],
  );
});

const config = (extra: string) => `id: web-1
${extra}
state_dir: /var/lib/greenlight
services:
  web:
    image: 127.0.0.1:5000/web
    port: 8080
    nginx: { upstream_file: /etc/nginx/conf.d/web.upstream.conf }
`;

test("listen addresses must be host:port", () => {
  for (const bad of ["127.0.0.1:notaport", "127.0.0.1", "127.0.0.1:70000", ":7350 x"]) {
    assert.throws(() => parseConfig(config(`listen: "${bad}"`)), /listen: use host:port/, bad);
    assert.throws(
      () => parseConfig(config(`http: { listen: "${bad}" }`)),
      /http\.listen: use host:port/,
      bad,
    );
  }
  for (const good of ["127.0.0.1:7350", "[::1]:7350", "0.0.0.0:0", "agent.internal:443"]) {
    assert.equal(parseConfig(config(`listen: "${good}"`)).listen, good);
  }
});

test("a service is looked up by its own name only", () => {
  const parsed = parseConfig(config(""));
  assert.ok(findService(parsed, "web"));
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    assert.equal(findService(parsed, name), undefined, name);
  }
});

test("the same public key listed twice is refused", async () => {
  const { publicPem } = await generateSigningKeys();
  const parsed = parseConfig(config(""));
  parsed.trust.keys = [
    { name: "ci", public_key: publicPem },
    { name: "ops", public_key: publicPem, services: ["web"] },
  ];
  await assert.rejects(loadTrustedKeys(parsed), /already trusted as ci/);
});

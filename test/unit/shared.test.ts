import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration } from "../../shared/duration.js";
import { closeCodeFor, exitCodeFor, errorCodes } from "../../shared/errors.js";
import { isServiceName, parseImageReference, registryOf } from "../../shared/names.js";

test("durations accept ms, s, m and h", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(parseDuration("-1s"), undefined);
});

test("image references are parsed strictly", () => {
  assert.deepEqual(parseImageReference("127.0.0.1:5000/web:v1"), {
    repository: "127.0.0.1:5000/web",
    tag: "v1",
  });
  const digest = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(parseImageReference(`registry.example.com/acme/web@${digest}`), {
    repository: "registry.example.com/acme/web",
    digest,
  });
  for (const bad of [
    "web;rm -rf /",
    "../etc/passwd",
    "web:v1\nserver evil",
    "web}",
    "WEB/Upper",
    "a/b:",
    "a/b@sha256:zz",
  ]) {
    assert.equal(parseImageReference(bad), undefined, bad);
  }
  assert.equal(registryOf("127.0.0.1:5000/web"), "127.0.0.1:5000");
  assert.equal(registryOf("acme/web"), "docker.io");
});

test("service names cannot carry paths or nginx syntax", () => {
  assert.ok(isServiceName("web-1"));
  for (const bad of ["../web", "web;", "web}", "web\n", "", "Web", "a".repeat(64)])
    assert.ok(!isServiceName(bad), bad);
});

test("every error code maps to an exit code and a close code", () => {
  for (const code of errorCodes) {
    assert.ok([1, 2, 3, 4].includes(exitCodeFor(code)), code);
    assert.ok(closeCodeFor(code) >= 1000, code);
  }
  assert.equal(exitCodeFor("AUTH_BAD_SIGNATURE"), 3);
  assert.equal(exitCodeFor("HEALTH_TIMEOUT"), 1);
  assert.equal(exitCodeFor("USAGE"), 2);
  assert.equal(exitCodeFor("AGENT_UNREACHABLE"), 4);
});

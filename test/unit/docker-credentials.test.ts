import assert from "node:assert/strict";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dockerConfigCredentials } from "../../agent/runtime/docker/docker-credentials.js";

test("a credential helper's garbage answer is refused without quoting it (it may hold the secret)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gl-creds-"));
  await writeFile(join(dir, "docker-credential-broken"), "#!/bin/sh\necho 'Secret: hunter2-secret {'\n");
  await chmod(join(dir, "docker-credential-broken"), 0o755);
  await writeFile(join(dir, "config.json"), JSON.stringify({ credsStore: "broken" }));
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ""}`;
  try {
    await assert.rejects(
      dockerConfigCredentials("registry.example", dir),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "REGISTRY_AUTH_FAILED");
        assert.match(
          error.message,
          /docker-credential-broken for registry\.example answered something other/,
        );
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  } finally {
    process.env.PATH = path;
  }
  // auths as docker login writes them, and nothing at all.
  const auth = Buffer.from("deploy:pa:ss").toString("base64");
  await writeFile(
    join(dir, "config.json"),
    JSON.stringify({ auths: { "https://registry.example": { auth } } }),
  );
  assert.deepEqual(await dockerConfigCredentials("registry.example", dir), {
    username: "deploy",
    password: "pa:ss",
  });
  assert.equal(await dockerConfigCredentials("other.example", dir), undefined);
  assert.equal(await dockerConfigCredentials("registry.example", join(dir, "missing")), undefined);
});

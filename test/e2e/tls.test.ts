import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { run } from "../helpers/run.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let agent: RunningAgent;
let keys: Keys;
let ca = "";

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  keys = await makeKeys(site.dir, "ci");
  const cert = join(site.dir, "tls.crt");
  const key = join(site.dir, "tls.key");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "1",
    "-keyout",
    key,
    "-out",
    cert,
    "-subj",
    "/CN=greenlight-test",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  ca = cert;
  agent = await startDaemon(site, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }], {
    tls: { cert, key },
  });
});

after(async () => {
  await agent?.stop();
  await site?.stop();
});

test("the agent terminates TLS itself; the client trusts it with --ca and refuses it without", async () => {
  const env = {
    GREENLIGHT_AGENT: agent.target,
    GREENLIGHT_KEY: keys.privatePem,
    GREENLIGHT_SERVICE: site.service,
  };
  assert.match(agent.url, /^wss:\/\//);
  const trusted = await runClient(["status", "--ca", ca], env).done;
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.match(trusted.stdout, /nothing deployed/);
  const untrusted = await runClient(["status", "--timeout", "3s"], env).done;
  assert.equal(untrusted.code, 4);
  assert.match(untrusted.stderr, /AGENT_UNREACHABLE.*TLS certificate is not trusted/);
});

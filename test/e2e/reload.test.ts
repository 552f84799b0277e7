import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let agent: RunningAgent;
let ci: Keys;
let later: Keys;

const configWith = (keys: Keys[]) => ({
  ...site.config,
  listen: "127.0.0.1:0",
  http: { listen: "127.0.0.1:0" },
  trust: { keys: keys.map((k, i) => ({ name: `key-${i}`, public_key: k.publicPem })) },
});

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  ci = await makeKeys(site.dir, "ci");
  later = await makeKeys(site.dir, "later");
  agent = await startDaemon(site, [{ name: "key-0", public_key: ci.publicPem }]);
});

after(async () => {
  await agent?.stop();
  await site?.stop();
});

const client = (key: Keys, args: string[]) =>
  runClient(args, {
    GREENLIGHT_KEY: key.privatePem,
    GREENLIGHT_AGENT: agent.target,
    GREENLIGHT_SERVICE: site.service,
  });

test("SIGHUP during a deploy: an invalid config is refused, a valid one applied, the deploy and its stream go on", async () => {
  const image = await stack.image({ version: "v1-slow", startDelay: 3 });
  const deploy = client(ci, ["deploy", "--image", image]);
  await new Promise((resolve) => setTimeout(resolve, 1500));

  await writeFile(site.configFile, "id: web-1\nservices:\n  web:\n    port: eighty\n");
  const refused = await agent.reload();
  assert.match(refused, /config reload refused; keeping the running config/);
  assert.match(refused, /services\.web\.port/);

  await writeFile(site.configFile, stringify(configWith([ci, later])));
  assert.match(await agent.reload(), /config reloaded/);

  const run = await deploy.done;
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /is live/);
  const status = await client(later, ["status"]).done;
  assert.equal(status.code, 0, "the key added by the reload is trusted");
});

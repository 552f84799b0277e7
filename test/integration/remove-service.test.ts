import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { after, before, test } from "node:test";
import { serviceChain } from "../../agent/switch/nat/iptables.js";
import { run } from "../helpers/run.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
});

after(async () => {
  await site?.stop();
});

const present = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

test("remove-service takes the service off the host: containers, NAT chain and its rules; refused during a deploy", async () => {
  const v1 = await stack.image({ version: "rm-v1" });
  assert.equal((await site.deploy(v1)).result?.status, "succeeded");
  const chain = serviceChain(site.unit);
  assert.match(await run("iptables", ["-w", "5", "-t", "nat", "-S"]), new RegExp(`-j ${chain}`));

  // While a deploy holds the service, removal is refused and changes nothing.
  const slow = await stack.image({ version: "rm-v2-slow", startDelay: 4 });
  const deploying = site.spawnAgent(["deploy", "--service", site.service, "--image", slow]);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const refused = await site.spawnAgent(["remove-service", site.service]).done;
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /DEPLOY_IN_PROGRESS/);
  assert.equal((await deploying.done).result?.status, "succeeded");

  const removed = await site.spawnAgent(["remove-service", site.service]).done;
  assert.equal(removed.code, 0, removed.stdout + removed.stderr);
  assert.deepEqual(await site.containers(), []);
  const nat = await run("iptables", ["-w", "5", "-t", "nat", "-S"]);
  assert.doesNotMatch(nat, new RegExp(chain), "no jump to the service's chain, no chain");
  assert.doesNotMatch(
    await run("iptables", ["-w", "5", "-t", "filter", "-S", "OUTPUT"]),
    new RegExp(site.unit),
  );
  // The upstream file is the operator's to remove here (their site includes it): left, and said so.
  assert.ok(await present(site.nginx.upstreamFile));
  assert.ok(removed.events.some((e) => /left .*upstream.*: nginx's config still needs it/.test(e.message)));
  // The history stays: a later deploy of the name starts from it.
  assert.ok((await site.history()).length >= 2);
});

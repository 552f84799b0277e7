import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let web: Site | undefined;
after(async () => {
  await web?.stop();
});

test("an upstream file bind-mounted into an nginx container is written in place and the deploy succeeds", async () => {
  web = await Site.start({ registry: stack.registry.host, nginxInContainer: true });
  const nginx = web.nginx as typeof web.nginx & { inode(): Promise<number> };
  const inode = await nginx.inode();
  const v1 = await web.deploy(await stack.image({ version: "v1" }));
  assert.equal(v1.result?.status, "succeeded", v1.stdout + v1.stderr);
  assert.equal(await web.servedVersion(), "v1");
  const v2 = await web.deploy(await stack.image({ version: "v2" }));
  assert.equal(v2.result?.status, "succeeded", v2.stdout + v2.stderr);
  assert.ok(
    v2.events.some((e) => e.message.includes("(in-place)")),
    "written in place, not renamed",
  );
  assert.equal(await nginx.inode(), inode, "the bind-mounted inode is kept");
  assert.equal(await web.servedVersion(), "v2");
});

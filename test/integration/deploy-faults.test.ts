import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../helpers/load.js";
import { run } from "../helpers/run.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let stateDir: string;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host, extra: { lock_timeout: "60s" } });
  // The state on a small disk of its own, so a test can fill it at the worst moment.
  stateDir = join(site.dir, "state");
  await mkdir(stateDir, { recursive: true });
  await run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", stateDir]);
});

after(async () => {
  await run("umount", ["-l", stateDir]).catch(() => "");
  await site?.stop();
});

/** Fills the state's disk to the last byte. */
function fillDisk(): Promise<void> {
  return new Promise((resolve) => {
    const dd = spawn("dd", ["if=/dev/zero", `of=${join(stateDir, "filler")}`, "bs=64k"], { stdio: "ignore" });
    dd.on("close", () => resolve());
  });
}

test("the disk fills up before the switch is recorded: traffic goes back to the old colour, no request fails", async () => {
  const v1 = await stack.image({ version: "v1" });
  const v2 = await stack.image({ version: "v2", startDelay: 1 });
  assert.equal((await site.deploy(v1)).code, 0);
  const load = await startLoad(site.nginx.url, FULL_LOAD);
  let filled: Promise<void> | undefined;
  const deploy = site.spawnAgent(["deploy", "--service", site.service, "--image", v2], (event) => {
    if (event.step === "start" && !filled) filled = fillDisk();
  });
  const result = await deploy.done;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const report = await load.stop();
  await rm(join(stateDir, "filler"), { force: true });

  assert.equal(result.code, 1, result.stdout + result.stderr);
  const messages = result.events.map((e) => e.message).join("\n");
  assert.match(messages, /ENOSPC/);
  assert.match(messages, /switching back to (blue|green) \(release 1\), which still runs/);
  assert.equal(await site.servedVersion(), "v1");
  assert.deepEqual(
    (await site.containers()).map((c) => c.split(":")[1]),
    ["running"],
    "only the old colour is left",
  );
  const state = JSON.parse(
    await readFile(join(stateDir, "services", site.service, "releases.json"), "utf8"),
  ) as {
    live: { release: string };
  };
  assert.equal(state.live.release, "1");
  assert.equal(report.failed, 0, describeLoad(report));
  assert.equal((await site.deploy(v2)).code, 0, "with room again, the next deploy goes through");
});

test("deploys queued behind a running one are capped; one more is refused at once", async () => {
  const keys: Keys = await makeKeys(site.dir, "ci");
  const agent: RunningAgent = await startDaemon(site, [{ name: "ci", public_key: keys.publicPem }]);
  try {
    const slow = await stack.image({ version: "v3-slow", startDelay: 8 });
    /** A client's run, and a promise that resolves once the agent has accepted its request. */
    const deploy = () => {
      let accepted: () => void = () => undefined;
      const acceptedNow = new Promise<void>((resolve) => (accepted = resolve));
      const client = runClient(
        ["deploy", "--image", slow, "--json", "--timeout", "3s"],
        { GREENLIGHT_KEY: keys.privatePem, GREENLIGHT_AGENT: agent.target, GREENLIGHT_SERVICE: site.service },
        (line) => {
          if (line.type === "accepted") accepted();
        },
      );
      return { done: client.done, accepted: acceptedNow };
    };
    const first = deploy();
    let firstDone = false;
    void first.done.then(() => (firstDone = true));
    await first.accepted;
    const queued = [deploy(), deploy(), deploy()];
    await Promise.all(queued.map((q) => q.accepted));
    const refused = await deploy().done;
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /DEPLOY_IN_PROGRESS: .* 3 waiting behind it/);
    assert.equal(firstDone, false, "refused while the first still runs, without waiting for a lock");
    // The rest is not this test's business: the agent goes, the clients give up, the site is cleaned up.
    await agent.kill();
    await Promise.all([first.done, ...queued.map((q) => q.done)]);
  } finally {
    await agent.stop();
  }
});

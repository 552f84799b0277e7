import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FULL_LOAD, describeLoad, startLoad } from "../helpers/load.js";
import { Site, useSites } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
const sites = useSites();

describe("agent killed (SIGKILL) mid-deploy, then restarted", () => {
  for (const step of ["pull", "start", "health", "switch", "drain", "stop"] as const) {
    test(`killed at ${step}: traffic never breaks, reconcile cleans up, the next deploy works`, async () => {
      const web = await Site.start({ registry: stack.registry.host });
      sites.push(web);
      await web.deploy(await stack.image({ version: "v1" }));
      const v2 = await stack.image({ version: "v2-slow", startDelay: 1 });
      const v3 = await stack.image({ version: "v3" });
      const load = await startLoad(web.nginx.url, FULL_LOAD);

      let killedAt: string | undefined;
      const run = web.spawnAgent(["deploy", "--service", web.service, "--image", v2], (event, child) => {
        if (event.step === step && !killedAt) {
          killedAt = event.message;
          child.kill("SIGKILL");
        }
      });
      const killed = await run.done;
      assert.ok(
        killedAt,
        `the deploy reached ${step}: ${killed.stdout.slice(-2000)}${killed.stderr.slice(-2000)}`,
      );
      if (step === "stop") {
        // The result is reported once the old colour is drained, and its stop follows: killed there, the agent
        // may already have said the release is live, and nothing else.
        assert.ok(
          killed.result === undefined || killed.result.status === "succeeded",
          `a result before the stop says the release is live: ${JSON.stringify(killed.result)}`,
        );
      } else {
        assert.equal(killed.result, undefined, "the killed agent printed no result");
      }
      assert.match(await web.servedVersion(), /^v(1|2-slow)$/, "still served right after the kill");

      const reconciled = await web.reconcile();
      assert.equal(reconciled.code, 0, reconciled.stderr);
      const running = (await web.containers()).filter((c) => c.endsWith(":running"));
      assert.equal(running.length, 1, `one colour left after reconcile: ${running.join(", ")}`);
      const last = (await web.history()).find((r) => r.status === "in_progress");
      assert.equal(last, undefined, "no release is left in progress");

      const next = await web.deploy(v3);
      assert.equal(next.result?.status, "succeeded", next.stdout + next.stderr);
      assert.equal(await web.servedVersion(), "v3");
      const report = await load.stop();
      assert.equal(report.failed, 0, describeLoad(report));
    });
  }
});

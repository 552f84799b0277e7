import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { STANDARD_LOAD, startLoad } from "../helpers/load.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  const first = await site.deploy(await stack.image({ version: "v1" }));
  assert.equal(first.result?.status, "succeeded");
});

after(async () => {
  await site?.stop();
});

async function verifyWith(verify: Record<string, unknown>): Promise<void> {
  const services = site.config.services as Record<string, Record<string, unknown>>;
  const service = services[site.service];
  assert.ok(service);
  service.verify = verify;
  await writeFile(site.configFile, stringify(site.config));
}

test("verified through the proxy after the switch: the deploy goes on", async () => {
  await verifyWith({ url: `${site.nginx.url}/cgi-bin/v` });
  const load = await startLoad(site.nginx.url, STANDARD_LOAD);
  const run = await site.deploy(await stack.image({ version: "v2" }));
  const report = await load.stop();
  assert.equal(run.result?.status, "succeeded", run.stdout + run.stderr);
  assert.ok(
    run.events.some((e) => e.step === "verify" && /the proxy serves the new release/.test(e.message)),
  );
  assert.equal(await site.servedVersion(), "v2");
  assert.equal(report.failed, 0, JSON.stringify(report.streams));
});

test("the proxy does not serve the new release: switched back to the old one, new one removed, nothing failed", async () => {
  await verifyWith({ url: `${site.nginx.url}/cgi-bin/no-such-page`, attempts: 2, interval: "100ms" });
  const load = await startLoad(site.nginx.url, STANDARD_LOAD);
  const run = await site.deploy(await stack.image({ version: "v3" }));
  const report = await load.stop();
  // The new release took traffic before the check through the proxy failed: it was rolled back.
  assert.equal(run.result?.status, "rolled_back");
  assert.equal(run.result?.error?.code, "VERIFY_FAILED");
  assert.equal(run.result?.error?.step, "verify");
  assert.ok(run.events.some((e) => /switching back to/.test(e.message)));
  assert.equal(await site.servedVersion(), "v2");
  assert.equal((await site.containers()).length, 1, "only the old colour runs");
  const record = (await site.state()).records.at(-1);
  assert.equal(record?.status, "failed");
  assert.equal(report.failed, 0, JSON.stringify(report.streams));
  // And the service deploys normally afterwards.
  await verifyWith({ url: `${site.nginx.url}/cgi-bin/v` });
  const next = await site.deploy(await stack.image({ version: "v3" }));
  assert.equal(next.result?.status, "succeeded", next.stdout + next.stderr);
  assert.equal(await site.servedVersion(), "v3");
});

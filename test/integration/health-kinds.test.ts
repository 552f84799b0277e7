import assert from "node:assert/strict";
import { test } from "node:test";
import { Site, useSites } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { withHealthcheck } from "../fixtures/test-app.js";

const stack = useStack();
const sites = useSites();

async function site(health: Record<string, unknown>): Promise<Site> {
  const started = await Site.start({ registry: stack.registry.host, extra: { health } });
  sites.push(started);
  return started;
}

test("health.docker: the image's own HEALTHCHECK decides; failing, the deploy fails and the old release serves", async () => {
  const web = await site({ docker: true, interval: "250ms", timeout: "20s" });
  const good = await withHealthcheck(await stack.image({ version: "hc-v1" }), "hc-v1-checked");
  const first = await web.deploy(good);
  assert.equal(first.result?.status, "succeeded", first.stdout + first.stderr);
  assert.ok(first.events.some((e) => /waiting for the image's HEALTHCHECK to pass/.test(e.message)));
  const sick = await withHealthcheck(
    await stack.image({ version: "hc-v2", health: "fail" }),
    "hc-v2-checked",
  );
  const second = await web.deploy(sick);
  assert.equal(second.result?.status, "failed", second.stdout);
  assert.equal(second.result?.error?.code, "HEALTH_TIMEOUT");
  assert.match(second.result?.error?.message ?? "", /the image's HEALTHCHECK\) got unhealthy|got starting/);
  assert.equal(await web.servedVersion(), "hc-v1");
  // An image without a HEALTHCHECK is refused with what to do instead.
  const plain = await web.deploy(await stack.image({ version: "hc-v3" }));
  assert.equal(plain.result?.error?.code, "HEALTH_TIMEOUT");
  assert.match(
    plain.result?.error?.message ?? "",
    /the image has no HEALTHCHECK; add one to the image, or check/,
  );
  assert.equal(await web.servedVersion(), "hc-v1");
});

test("health.tcp, and an HTTP check with a status range and a Host header", async () => {
  const tcp = await site({ tcp: true, interval: "200ms" });
  const v1 = await stack.image({ version: "tcp-v1" });
  const run1 = await tcp.deploy(v1);
  assert.equal(run1.result?.status, "succeeded", run1.stdout + run1.stderr);
  assert.ok(run1.events.some((e) => /to accept a connection/.test(e.message)));
  assert.ok(run1.events.some((e) => /accepting connections after/.test(e.message)));

  // The test app's /cgi-bin/echo answers 200; a 404 is healthy only when the range says so.
  const http = await site({
    path: "/no-such-page",
    status: "200-404",
    host: "app.internal",
    interval: "200ms",
  });
  const run2 = await http.deploy(v1);
  assert.equal(run2.result?.status, "succeeded", run2.stdout + run2.stderr);
  assert.ok(run2.events.some((e) => /\(Host: app\.internal\) to answer 200-404/.test(e.message)));
});

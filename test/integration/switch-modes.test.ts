import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeLoad, startLoad, type LoadStream } from "../helpers/load.js";
import { Site, useSites } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";
import { docker, run } from "../helpers/run.js";
import { parseFlows } from "../../agent/switch/nat/conntrack.js";
import { removeClosedFlowsRule } from "../../agent/switch/nat/closed-flows.js";
import { serviceChain } from "../../agent/switch/nat/iptables.js";

const stack = useStack();
const sites = useSites();

// Clients that hold keep-alive connections idle ~100 ms between requests and never retry, as browsers' and API
// clients' pools do, plus requests that stay in flight across the switch.
const PACED_AND_LONG: LoadStream[] = [
  { name: "paced keep-alive", path: "/cgi-bin/v", connections: 30, pauseMs: 100 },
  { name: "1s requests", path: "/cgi-bin/slow?1", connections: 4, timeoutSeconds: 15 },
  { name: "5s requests", path: "/cgi-bin/slow?5", connections: 2, timeoutSeconds: 15 },
];

async function flowStates(port: number): Promise<string[]> {
  const listing = await run("conntrack", ["-L", "-p", "tcp", "--orig-port-dst", String(port)]);
  return parseFlows(listing).map((flow) => flow.state);
}

/**
 * Reload mode's long requests, each on a connection of its own. At a reload, a shutting-down nginx worker closes
 * a keep-alive connection once its response is out; a closed-loop client that already sent its next request on
 * it sees a read error. That is the idle keep-alive race (the paced stream measures it), not a cut in-flight
 * request: a drain that ended early would show as a 502 (the CGI's headers come last), never as a read error.
 * Fresh connections leave only what the assertion names.
 */
const RELOAD_LOAD: LoadStream[] = PACED_AND_LONG.map((s) => (s.pauseMs ? s : { ...s, closeEach: true }));

async function tenDeploys(mode: "nat" | "reload") {
  const web = await Site.start({ registry: stack.registry.host, extra: { switch: { mode } } });
  sites.push(web);
  const images = [await stack.image({ version: "v1" }), await stack.image({ version: "v2" })];
  await web.deploy(images[0] ?? "");
  // As a firewall reload (`nft flush ruleset`) would: the next switch must set the closed-flow policy again.
  if (mode === "nat") await removeClosedFlowsRule("nft", serviceChain(web.unit));
  const load = await startLoad(web.nginx.url, mode === "reload" ? RELOAD_LOAD : PACED_AND_LONG);
  for (let i = 1; i <= 10; i += 1) {
    const run = await web.deploy(images[i % 2] ?? "");
    assert.equal(run.result?.status, "succeeded", run.stdout + run.stderr);
  }
  const flows = mode === "nat" ? await flowStates(web.stablePort) : [];
  const report = await load.stop();
  if (mode === "nat") {
    // Closed flows to the stable address are forgotten at once: none lingers bound to a colour.
    assert.ok(flows.length > 0, "the load's flows to the stable address are tracked");
    assert.deepEqual(
      flows.filter((state) => state === "TIME_WAIT" || state === "CLOSE"),
      [],
      `flows: ${flows.join(" ")}`,
    );
  }
  assert.ok(
    report.streams.every((s) => s.requests > 0),
    describeLoad(report),
  );
  return report;
}

describe("switch modes under paced keep-alive and long requests, 10 consecutive deploys", () => {
  test("NAT mode fails no request of any kind", async () => {
    const report = await tenDeploys("nat");
    assert.equal(report.failed, 0, describeLoad(report));
  });

  test("reload mode still fails requests on idle keep-alive connections (the figure NAT mode removes)", async (t) => {
    const report = await tenDeploys("reload");
    t.diagnostic(
      `reload mode, 10 deploys: ${report.failed} of ${report.requests} requests failed\n${describeLoad(report)}`,
    );
    const paced = report.streams.find((s) => s.name === "paced keep-alive");
    const long = report.streams.filter((s) => s.name !== "paced keep-alive");
    assert.ok(
      (paced?.failed ?? 0) > 0,
      `expected reload-induced resets on idle keep-alive clients: ${describeLoad(report)}`,
    );
    assert.equal(
      long.reduce((sum, s) => sum + s.failed, 0),
      0,
      "in-flight long requests are never cut, in either mode",
    );
  });
});

test("two services on one host cannot share a stable address: the second is refused and the first keeps serving", async () => {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const first = await Site.start({ registry: stack.registry.host, extra: { switch: { mode: "nat", port } } });
  const second = await Site.start({
    registry: stack.registry.host,
    extra: { switch: { mode: "nat", port } },
  });
  sites.push(first, second);
  const v1 = await stack.image({ version: "v1" });
  assert.equal((await first.deploy(v1)).result?.status, "succeeded");
  const refused = await second.deploy(v1);
  assert.equal(refused.result?.status, "failed", refused.stdout + refused.stderr);
  assert.equal(refused.result?.error?.code, "SWITCH_FAILED");
  assert.match(
    refused.result?.error?.message ?? "",
    new RegExp(
      `already taken on this host by service ${first.unit}; give ${second.unit} its own switch\\.port`,
    ),
  );
  assert.deepEqual(
    await docker("ps", "-aq", "--filter", `name=^${second.unit}-`).then((out) => out.trim()),
    "",
  );
  const answer = await fetch(`${first.nginx.url}/cgi-bin/v`);
  assert.equal(answer.status, 200);
  assert.match(await answer.text(), /v1/);
});

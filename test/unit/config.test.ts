import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../agent/config/load.js";
import { GreenlightError } from "../../shared/errors.js";

const valid = `id: web-1
listen: 127.0.0.1:7350
state_dir: /var/lib/greenlight
services:
  web:
    image: 127.0.0.1:5000/web
    port: 8080
    env: { KEY: value, COUNT: 3 }
    volumes: ["/srv/web/uploads:/data"]
    health: { path: /healthz, interval: 1s, timeout: 60s }
    drain: 30s
    nginx:
      upstream_file: /etc/nginx/conf.d/web.upstream.conf
      test: ["nginx", "-t"]
      reload: ["nginx", "-s", "reload"]
`;

function problemsOf(text: string): { path: string; line?: number; message: string }[] {
  try {
    parseConfig(text);
  } catch (error) {
    assert.ok(error instanceof GreenlightError);
    assert.equal(error.code, "CONFIG_INVALID");
    return (error.details?.problems ?? []) as { path: string; line?: number; message: string }[];
  }
  assert.fail("expected the config to be refused");
}

test("the documented config loads with durations in milliseconds and sane defaults", () => {
  const config = parseConfig(valid);
  const web = config.services.web;
  assert.ok(web?.kind === "web");
  assert.equal(web.health.interval, 1000);
  assert.equal(web.health.timeout, 60_000);
  assert.equal(web.drain, 30_000);
  assert.equal(web.env.COUNT, "3");
  assert.equal(web.switch.mode, "nat");
  assert.equal(web.stop_signal, "SIGTERM");
});

test("each mistake is named by key path and line", () => {
  const broken = valid
    .replace("drain: 30s", "drain: thirty")
    .replace("port: 8080", "port: 80800")
    .replace("image: 127.0.0.1:5000/web", "image: 127.0.0.1:5000/web:latest");
  const problems = problemsOf(broken);
  const byPath = new Map(problems.map((p) => [p.path, p]));
  assert.equal(byPath.get("services.web.drain")?.line, 11);
  assert.match(byPath.get("services.web.drain")?.message ?? "", /not a duration/);
  assert.equal(byPath.get("services.web.port")?.line, 7);
  assert.match(byPath.get("services.web.image")?.message ?? "", /without tag/);
});

test("unknown keys are refused rather than ignored", () => {
  const problems = problemsOf(valid.replace("drain: 30s", "drian: 30s"));
  assert.ok(
    problems.some((p) => p.path === "services.web" && /drian/.test(p.message)),
    JSON.stringify(problems),
  );
});

test("NAT mode with nginx in a container is refused with the fix", () => {
  const text =
    valid.replace("      test:", "      container: proxy\n      test:") + "    switch: { mode: nat }\n";
  const problems = problemsOf(text);
  assert.ok(
    problems.some((p) => p.path === "services.web.switch.mode" && /switch.mode: reload/.test(p.message)),
  );
});

test("nginx in a container defaults to reload mode", () => {
  const config = parseConfig(valid.replace("      test:", "      container: proxy\n      test:"));
  const web = config.services.web;
  assert.ok(web?.kind === "web");
  assert.equal(web.switch.mode, "reload");
});

test("a service name that could escape a path or inject nginx config is refused", () => {
  const problems = problemsOf(valid.replace("  web:", '  "../web":'));
  assert.ok(problems.some((p) => /not a service name/.test(p.message)));
});

test("an OIDC trust entry must name a claim and an https issuer", () => {
  const problems = problemsOf(
    `${valid}trust:\n  oidc:\n    - issuer: http://token.example.com\n      claims: {}\n`,
  );
  const byPath = new Map(problems.map((p) => [p.path, p]));
  assert.match(byPath.get("trust.oidc.0.issuer")?.message ?? "", /https/);
  assert.match(byPath.get("trust.oidc.0.claims")?.message ?? "", /every pipeline/);
  const ok = parseConfig(
    `${valid}trust:\n  oidc:\n    - issuer: https://token.actions.githubusercontent.com\n      claims: { repository: acme/shop }\n`,
  );
  assert.equal(ok.trust.oidc[0]?.audience, undefined, "the audience defaults at verification time");
});

const worker = `id: w-1
state_dir: /var/lib/greenlight
services:
  jobs:
    image: 127.0.0.1:5000/web
    kind: worker
    command: ["/app/worker"]
    overlap: false
`;

test("a worker needs no port and no nginx, and has a settle time and overlap", () => {
  const jobs = parseConfig(worker).services.jobs;
  assert.ok(jobs?.kind === "worker");
  assert.equal(jobs.ready_after, 5000);
  assert.equal(jobs.overlap, false);
  assert.deepEqual(jobs.command, ["/app/worker"]);
});

test("a worker with traffic keys, and a web service without a port, are refused by name", () => {
  const problems = problemsOf(worker.replace("kind: worker", "kind: worker\n    port: 8080"));
  assert.deepEqual(
    problems.map((p) => [p.path, p.message]),
    [["services.jobs.port", "a worker takes no traffic: remove port (or set kind: web)"]],
  );
  const web = problemsOf(valid.replace("    port: 8080\n", ""));
  assert.deepEqual(
    web.map((p) => [p.path, p.message]),
    [["services.web.port", "a web service needs port; a service without one is kind: worker"]],
  );
});

test("an app names services that exist, share one image, and leave the release command to the app", () => {
  const app = `${valid}  jobs:
    image: 127.0.0.1:5000/other
    kind: worker
    release_command: ["migrate"]
apps:
  shop:
    services: [jobs, web, nope]
    release_command: ["bin/migrate"]
    release_service: api
`;
  assert.deepEqual(
    problemsOf(app).map((p) => [p.path, p.message]),
    [
      ["apps.shop.services.2", 'no service named "nope"'],
      [
        "apps.shop.services",
        "its services run different images (127.0.0.1:5000/other, 127.0.0.1:5000/web); an app is one image",
      ],
      ["apps.shop.release_service", '"api" is not one of the app\'s services'],
      ["apps.shop.services", "jobs has a release_command of its own: the app's runs once for all of them"],
    ],
  );
});

test("a Swarm service takes Swarm's update settings; published on the mesh it is not switched, else the NAT rule routes to its tasks", () => {
  const swarm = valid.replace(
    "    port: 8080\n",
    "    port: 8080\n    runtime: swarm\n    swarm: { publish: 18080, update: { parallelism: 2, monitor: 10s } }\n",
  );
  const web = parseConfig(swarm).services.web;
  assert.equal(web?.runtime, "swarm");
  assert.deepEqual(web?.swarm?.update, {
    parallelism: 2,
    delay: 0,
    monitor: 10_000,
    max_failure_ratio: 0,
    order: "start-first",
    timeout: 600_000,
  });
  assert.equal(web?.swarm?.drain_tasks, true);
  assert.deepEqual(
    problemsOf(swarm + "    switch: { mode: nat }\n").map((p) => [p.path, p.message]),
    [
      [
        "services.web.switch",
        "a Swarm service published on the routing mesh is not switched: remove switch, or swarm.publish to let greenlight's NAT rule route to the tasks",
      ],
    ],
  );
  const routed = parseConfig(swarm.replace("publish: 18080, ", "")).services.web;
  assert.equal(routed?.kind === "web" && routed.switch.mode, "nat");
  assert.deepEqual(
    problemsOf(swarm.replace("publish: 18080, ", "") + "    switch: { mode: reload }\n").map((p) => [
      p.path,
      p.message,
    ]),
    [
      [
        "services.web.switch.mode",
        "a Swarm service is routed by the NAT rule (or Swarm's routing mesh with swarm.publish), not by reloads",
      ],
    ],
  );
});

test("swarm settings on a service that is not a Swarm service are refused", () => {
  const problems = problemsOf(
    valid.replace("    port: 8080\n", "    port: 8080\n    swarm: { publish: 18080 }\n"),
  );
  assert.deepEqual(
    problems.map((p) => [p.path, p.message]),
    [["services.web.swarm", "swarm settings need runtime: swarm"]],
  );
});

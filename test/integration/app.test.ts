import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runClient } from "../helpers/client.js";
import { makeKeys, startDaemon, type RunningAgent } from "../helpers/daemon.js";
import { describeLoad, startLoad, STANDARD_LOAD } from "../helpers/load.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let agent: RunningAgent;
let env: Record<string, string>;
let data: string;

/** The app's worker: notes which version started and stopped in the shared volume. */
const WORKER = [
  "sh",
  "-c",
  [
    'echo "start $APP_VERSION" >> /data/jobs',
    "trap 'echo \"stop $APP_VERSION\" >> /data/jobs; exit 0' TERM",
    'while true; do echo "jobs $APP_VERSION working"; sleep 1; done',
  ].join("; "),
];

const lines = async (file: string) =>
  (await readFile(join(data, file), "utf8").catch(() => "")).split("\n").filter(Boolean);

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  data = join(site.dir, "data");
  await mkdir(data);
  const keys = await makeKeys(site.dir, "ci");
  const services = site.config.services as Record<string, Record<string, unknown>>;
  const web = services[site.service] ?? {};
  Object.assign(web, { volumes: [`${data}:/data`] });
  agent = await startDaemon(site, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }], {
    services: {
      ...services,
      jobs: {
        image: web.image,
        kind: "worker",
        container_name: `${site.unit}-jobs`,
        command: WORKER,
        volumes: [`${data}:/data`],
        ready_after: "1s",
        stop_grace: "5s",
      },
    },
    apps: {
      shop: {
        services: ["jobs", site.service],
        release_service: site.service,
        release_command: [
          "sh",
          "-c",
          'echo "migrating to $APP_VERSION"; echo "$APP_VERSION" >> /data/migrations',
        ],
      },
    },
  });
  env = { GREENLIGHT_KEY: keys.privatePem, GREENLIGHT_AGENT: agent.target, GREENLIGHT_SERVICE: "shop" };
});

after(async () => {
  await agent?.stop();
  await site?.stop();
});

test("an app (worker, then web) deployed by one request under load: migration once per deploy, 0 failed requests", async () => {
  const v1 = await stack.image({ version: "a1" });
  const first = await runClient(["deploy", "--image", v1], env).done;
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /✔ shop: jobs succeeded \(release 1\), \S+ succeeded \(release 1\)/);
  const load = await startLoad(site.nginx.url, STANDARD_LOAD);
  const v2 = await stack.image({ version: "a2" });
  const second = await runClient(["deploy", "--image", v2, "--json"], env).done;
  const report = await load.stop();
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.equal(report.failed, 0, describeLoad(report));
  assert.deepEqual(await lines("migrations"), ["a1", "a2"], "the release command ran once per deploy");
  assert.deepEqual(await lines("jobs"), ["start a1", "start a2", "stop a1"]);
  assert.equal(await site.servedVersion(), "a2");
  const events = second.lines.filter((l) => l.type === "event");
  assert.equal(events.filter((e) => /running the release command once/.test(String(e.message))).length, 1);

  const logs = await runClient(["logs", "--service", "jobs", "--lines", "3"], env).done;
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /jobs a2 working/);
});

test("an app whose web release crashes: the worker that already went live goes back, the web never switched", async () => {
  const broken = await stack.image({ version: "a3", crash: true });
  const run = await runClient(["deploy", "--image", broken, "--json"], env).done;
  assert.equal(run.code, 1, run.stdout);
  const result = run.lines.find((l) => l.type === "result");
  assert.equal(result?.status, "rolled_back");
  assert.deepEqual(
    (result?.services as { service: string; status: string }[]).map((s) => [s.service, s.status]),
    [
      ["jobs", "rolled_back"],
      [site.service, "failed"],
    ],
  );
  assert.equal(await site.servedVersion(), "a2");
  // The a3 worker went live and replaced a2's; the rollback started a2's again and stopped a3's.
  assert.deepEqual((await lines("jobs")).slice(3), ["start a3", "stop a2", "start a2", "stop a3"]);
});

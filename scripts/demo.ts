// The main job, for real: a local agent with Docker, nginx and a registry, and an app `shop` of two services
// from one image: a worker `jobs` and a web service `web` with two replicas behind nginx. v1 then v2 of the app
// are deployed through `greenlight deploy` over the WebSocket while wrk runs, logs streamed, each deploy running
// the app's release command (a migration recorded in a volume) once, then the worker, then the web. The
// worker's own output is read back with `greenlight logs`. Then a slow v3 is cancelled with Ctrl-C: the agent
// undoes it, and the worker that already went live goes back to v2. Last, a Swarm service of two tasks routed
// by greenlight (scripts/demo-swarm.ts) is deployed under load. The last lines count failures.
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { makeKeys, startDaemon } from "../test/helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../test/helpers/load.js";
import { startRegistry } from "../test/helpers/registry.js";
import { ROOT, Site } from "../test/helpers/site.js";
import { swarmDemo } from "./demo-swarm.js";

const say = (line: string) => process.stdout.write(`\n== ${line}\n`);

/** Runs the CLI with its output shown; `interruptAt`: press Ctrl-C (SIGINT) when a line matches. */
function greenlight(args: string[], env: Record<string, string>, interruptAt?: RegExp): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "dist", "greenlight.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let pressed = false;
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (interruptAt && !pressed && interruptAt.test(chunk.toString())) {
        pressed = true;
        process.stdout.write("^C\n");
        child.kill("SIGINT");
      }
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

say("starting a private registry and building the test app (v1, v2)");
const registry = await startRegistry();
const [v1, v2, v3] = await Promise.all([
  buildTestApp(registry.host, { version: "v1" }),
  // v2 prints what a hostile image might, a would-be CI command: the streamed log shows it inert.
  buildTestApp(registry.host, {
    version: "v2",
    startDelay: 1,
    say: "::error::a container cannot issue CI commands through greenlight",
  }),
  buildTestApp(registry.host, { version: "v3-slow", startDelay: 30 }),
]);
const data = await mkdtemp(join(tmpdir(), "greenlight-demo-data-"));
const site = await Site.start({
  registry: registry.host,
  service: "web",
  health: { interval: "250ms" },
  extra: { volumes: [`${data}:/data`], replicas: 2 },
});
const keys = await makeKeys(site.dir, "ci");
const services = site.config.services as Record<string, Record<string, unknown>>;
const agent = await startDaemon(site, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }], {
  services: {
    ...services,
    jobs: {
      image: services.web?.image,
      kind: "worker",
      container_name: `${site.unit}-jobs`,
      // The same image as the web service, another command: a queue consumer that says what it does.
      command: [
        "sh",
        "-c",
        'while true; do echo "jobs $APP_VERSION: took a job from the queue"; sleep 1; done',
      ],
      ready_after: "2s",
      // Docker's init as PID 1 passes the stop signal on: the shell loop stops at once, not after its grace.
      init: true,
      stop_grace: "5s",
    },
  },
  apps: {
    shop: {
      services: ["jobs", "web"],
      release_service: "web",
      release_command: [
        "/bin/sh",
        "-c",
        'echo "migrating the schema to $APP_VERSION"; echo "$APP_VERSION" >> /data/migrations',
      ],
    },
  },
});
say(
  `agent ${agent.target} (requests are signed only for that id), nginx ${site.nginx.url}, app shop = jobs (worker) + web (2 replicas)`,
);
const env = {
  GREENLIGHT_AGENT: agent.target,
  GREENLIGHT_KEY: keys.privatePem,
  GREENLIGHT_SERVICE: "shop",
};

let failed = 1;
try {
  say(`greenlight deploy ${v1}`);
  if ((await greenlight(["deploy", "--image", v1], env)) !== 0) throw new Error("the v1 deploy failed");
  say(
    `serving ${await site.servedVersion()}; starting load: ${FULL_LOAD.map((s) => `${s.connections} × ${s.name}`).join(", ")}`,
  );
  const load = await startLoad(site.nginx.url, FULL_LOAD);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  say(`greenlight deploy ${v2} (under load)`);
  const code = await greenlight(["deploy", "--image", v2], env);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const report = await load.stop();
  say(`load report\n${describeLoad(report)}`);
  say(`now serving ${await site.servedVersion()}`);
  const migrations = (await readFile(join(data, "migrations"), "utf8")).trim().split("\n");
  say(`migrations recorded by the release command, once per deploy: ${migrations.join(", ")}`);
  say("greenlight logs --service jobs --lines 3: the worker's own output, through the same signed channel");
  const logs = await greenlight(["logs", "--service", "jobs", "--lines", "3"], env);
  say(`greenlight deploy ${v3} (slow to start), then Ctrl-C: the agent cancels and undoes it`);
  const cancelled = await greenlight(["deploy", "--image", v3], env, /health\s+web: waiting for http/);
  const after = await site.servedVersion();
  say(`the cancelled deploy exited ${cancelled}; still serving ${after}`);
  failed =
    report.failed +
    (code === 0 ? 0 : 1) +
    (logs === 0 ? 0 : 1) +
    (migrations.join(",") === "v1,v2" ? 0 : 1) +
    (cancelled === 1 && after === "v2" ? 0 : 1);
  process.stdout.write(`\nrequests served: ${report.requests}, failed: ${report.failed}\n`);
  failed += await swarmDemo(registry.host, keys, say, (args, extra) => greenlight(args, extra));
} finally {
  await agent.stop();
  await site.stop();
  await registry.stop();
}
process.exitCode = failed === 0 ? 0 : 1;

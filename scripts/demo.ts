// The main job, for real: a local agent with Docker, nginx and a registry; v1 then v2 of the test app deployed
// through `greenlight deploy` over the WebSocket while wrk runs, logs streamed, each deploy running its release
// command (a migration recorded in a volume) first; then a slow v3 cancelled with Ctrl-C, which the agent
// undoes while v2 keeps serving. The last line counts failures.
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { makeKeys, startDaemon } from "../test/helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../test/helpers/load.js";
import { startRegistry } from "../test/helpers/registry.js";
import { ROOT, Site } from "../test/helpers/site.js";

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
  health: { interval: "250ms" },
  extra: {
    volumes: [`${data}:/data`],
    release_command: [
      "/bin/sh",
      "-c",
      'echo "migrating the schema to $APP_VERSION"; echo "$APP_VERSION" >> /data/migrations',
    ],
  },
});
const keys = await makeKeys(site.dir, "ci");
const agent = await startDaemon(site, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }]);
say(
  `agent ${agent.target} (requests are signed only for that id), nginx ${site.nginx.url}, service ${site.service}`,
);
const env = {
  GREENLIGHT_AGENT: agent.target,
  GREENLIGHT_KEY: keys.privatePem,
  GREENLIGHT_SERVICE: site.service,
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
  say(
    `migrations recorded by the release command: ${(await readFile(join(data, "migrations"), "utf8")).trim().split("\n").join(", ")}`,
  );
  say(`greenlight deploy ${v3} (slow to start), then Ctrl-C: the agent cancels and undoes it`);
  const cancelled = await greenlight(["deploy", "--image", v3], env, /health\s+waiting for/);
  const after = await site.servedVersion();
  say(`the cancelled deploy exited ${cancelled}; still serving ${after}`);
  failed = report.failed + (code === 0 ? 0 : 1) + (cancelled === 1 && after === "v2" ? 0 : 1);
  process.stdout.write(`\nrequests served: ${report.requests}, failed: ${report.failed}\n`);
} finally {
  await agent.stop();
  await site.stop();
  await registry.stop();
}
process.exitCode = failed === 0 ? 0 : 1;

// The main job, for real: a local agent with Docker, nginx and a registry; v1 then v2 of the test app deployed
// through `greenlight deploy` over the WebSocket while wrk runs, logs streamed; the last line counts failures.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { makeKeys, startDaemon } from "../test/helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../test/helpers/load.js";
import { startRegistry } from "../test/helpers/registry.js";
import { ROOT, Site } from "../test/helpers/site.js";

const say = (line: string) => process.stdout.write(`\n== ${line}\n`);

function greenlight(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "dist", "greenlight.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: "inherit",
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

say("starting a private registry and building the test app (v1, v2)");
const registry = await startRegistry();
const [v1, v2] = await Promise.all([
  buildTestApp(registry.host, { version: "v1" }),
  // v2 prints what a hostile image might, a would-be CI command: the streamed log shows it inert.
  buildTestApp(registry.host, {
    version: "v2",
    startDelay: 1,
    say: "::error::a container cannot issue CI commands through greenlight",
  }),
]);
const site = await Site.start({ registry: registry.host, health: { interval: "250ms" } });
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
  failed = report.failed + (code === 0 ? 0 : 1);
  process.stdout.write(`\nrequests served: ${report.requests}, failed: ${report.failed}\n`);
} finally {
  await agent.stop();
  await site.stop();
  await registry.stop();
}
process.exitCode = failed === 0 ? 0 : 1;

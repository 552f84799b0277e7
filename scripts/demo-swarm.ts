// The demo's Swarm part: a single-node swarm on this engine (left again at the end), a Swarm service `api` of
// two tasks routed by greenlight's NAT rule, deployed v1 then v2 under load through the same signed channel.
// Swarm replaces the tasks start-first; greenlight drains each old task before it stops. An engine that is
// already in a swarm is not touched.
import { buildTestApp, withHealthcheck } from "../test/fixtures/test-app.js";
import { startDaemon, type Keys } from "../test/helpers/daemon.js";
import { FULL_LOAD, describeLoad, startLoad } from "../test/helpers/load.js";
import { docker } from "../test/helpers/run.js";
import { Site } from "../test/helpers/site.js";

type Say = (line: string) => void;
type Greenlight = (args: string[], env: Record<string, string>) => Promise<number>;

/** Runs the Swarm part; resolves to how many things went wrong (failed requests and deploys). */
export async function swarmDemo(
  registry: string,
  keys: Keys,
  say: Say,
  greenlight: Greenlight,
): Promise<number> {
  const state = (await docker("info", "--format", "{{.Swarm.LocalNodeState}}")).trim();
  if (state !== "inactive") {
    say(
      `this Docker engine is already in a swarm (${state}): the Swarm part is skipped so as not to touch it`,
    );
    return 0;
  }
  say("Swarm: a single-node swarm on this engine (docker swarm init; left again at the end)");
  await docker("swarm", "init", "--advertise-addr", "127.0.0.1");
  let site: Site | undefined;
  let agent: Awaited<ReturnType<typeof startDaemon>> | undefined;
  try {
    // Swarm gates each task on the image's HEALTHCHECK.
    const [s1, s2] = await Promise.all(
      ["s1", "s2"].map(async (version) =>
        withHealthcheck(await buildTestApp(registry, { version }), `${version}-checked`),
      ),
    );
    site = await Site.start({ registry, service: "api", swarm: {}, extra: { replicas: 2 } });
    agent = await startDaemon(site, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }]);
    const env = {
      GREENLIGHT_AGENT: agent.target,
      GREENLIGHT_KEY: keys.privatePem,
      GREENLIGHT_SERVICE: "api",
    };
    say(
      `greenlight deploy ${short(s1)} to the Swarm service api (runtime: swarm, 2 tasks, routed by greenlight)`,
    );
    const first = await greenlight(["deploy", "--image", s1 ?? ""], env);
    const load = await startLoad(site.nginx.url, FULL_LOAD);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    say(
      `greenlight deploy ${short(s2)} (under load): Swarm replaces each task, greenlight drains the old one`,
    );
    const second = await greenlight(["deploy", "--image", s2 ?? ""], env);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const report = await load.stop();
    say(`Swarm load report\n${describeLoad(report)}`);
    const serving = await site.servedVersion();
    say(`the Swarm service now serves ${serving}`);
    process.stdout.write(`\nSwarm: requests served: ${report.requests}, failed: ${report.failed}\n`);
    return report.failed + (first === 0 ? 0 : 1) + (second === 0 ? 0 : 1) + (serving === "s2" ? 0 : 1);
  } finally {
    await agent?.stop();
    if (site) await site.spawnAgent(["remove-service", site.service]).done;
    await site?.stop();
    await docker("swarm", "leave", "--force");
  }
}

/** The image without its registry, for a shorter line. */
const short = (image: string | undefined) => image?.slice(image.indexOf("/") + 1) ?? "";

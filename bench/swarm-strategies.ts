import { existsSync } from "node:fs";
import { withHealthcheck } from "../test/fixtures/test-app.js";
import { docker } from "../test/helpers/run.js";
import { Site } from "../test/helpers/site.js";
import { errorsIn, type DeployTiming, type Strategy, type Target } from "./strategies.js";

/** A strategy that cannot run on this machine, and why: its row says so instead of a figure. */
export class Unavailable extends Error {}

/** Swarm's update gates each task on the image's HEALTHCHECK: each image gets one (built once, cached). */
const checked = new Map<string, Promise<string>>();
function withCheck(image: string): Promise<string> {
  const tag = `${image.slice(image.lastIndexOf(":") + 1)}-checked`;
  const built = checked.get(image) ?? withHealthcheck(image, tag);
  checked.set(image, built);
  return built;
}

/** A single-node Swarm on this engine for one strategy, left again after it unless it was there before. */
async function joinSwarm(): Promise<() => Promise<void>> {
  const state = (await docker("info", "--format", "{{.Swarm.LocalNodeState}}")).trim();
  if (state === "active") return async () => undefined;
  await docker("swarm", "init", "--advertise-addr", "127.0.0.1");
  return async () => {
    await docker("swarm", "leave", "--force");
  };
}

async function answers(url: string): Promise<boolean> {
  return fetch(`${url}/cgi-bin/v`, { signal: AbortSignal.timeout(3000) }).then(
    (response) => response.ok,
    () => false,
  );
}

/**
 * A Swarm service of two tasks deployed through the agent: published on Swarm's routing mesh (nginx → the
 * published port → IPVS → a task), or routed by greenlight's NAT rule over the tasks, with or without
 * greenlight's drain of each task Swarm stops.
 */
export function swarm(routing: "mesh" | "nat" | "nat, no drain"): Strategy {
  return {
    name: `Swarm (${routing})`,
    setup: async (registry, first): Promise<Target> => {
      const leave = await joinSwarm();
      const publish = 35000 + Math.floor(Math.random() * 5000);
      const site = await Site.start({
        registry,
        swarm: {
          ...(routing === "mesh" ? { publish } : {}),
          ...(routing === "nat, no drain" ? { drain_tasks: false } : {}),
        },
        extra: { replicas: 2 },
      });
      const teardown = async () => {
        await site.spawnAgent(["remove-service", site.service]).done;
        await site.stop();
        await leave();
      };
      const initial = await site.deploy(await withCheck(first));
      if (initial.result?.status !== "succeeded") {
        await teardown();
        throw new Error(`first deploy failed: ${initial.stdout}${initial.stderr}`);
      }
      if (!(await answers(site.nginx.url))) {
        await teardown();
        // The routing mesh is IPVS in the kernel: without it dockerd logs "Could not get ipvs family information".
        const ipvs = existsSync("/proc/net/ip_vs");
        throw new Unavailable(
          routing === "mesh" && !ipvs
            ? "the published port does not answer: Swarm's routing mesh is IPVS, and this kernel has none (no /proc/net/ip_vs)"
            : `the service does not answer through nginx (${routing})`,
        );
      }
      return {
        url: site.nginx.url,
        nginxErrors: () => errorsIn(site.nginx.dir),
        teardown,
        deploy: async (image): Promise<DeployTiming> => {
          const run = await site.deploy(await withCheck(image));
          const result = run.result;
          return {
            ok: result?.status === "succeeded",
            error: result?.error ? `${result.error.code}: ${result.error.message}` : undefined,
            totalMs: result?.durations.total ?? Number.NaN,
            steps: result?.durations,
          };
        },
      };
    },
  };
}

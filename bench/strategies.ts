import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Durations } from "../shared/events.js";
import { startNginx, type PrivateNginx } from "../test/helpers/nginx.js";
import { waitFor } from "../test/helpers/ports.js";
import { docker, run } from "../test/helpers/run.js";
import { Site } from "../test/helpers/site.js";

/** What one deploy cost, in the terms of the table. Absent figures do not apply to a strategy. */
export interface DeployTiming {
  ok: boolean;
  totalMs: number;
  switchMs?: number;
  pullMs?: number;
  readinessMs?: number;
  drainMs?: number;
  drainTailMs?: number;
  /** The agent's own per-step durations, where the strategy is greenlight. */
  steps?: Durations;
  /** Why the deploy failed, where the strategy says. */
  error?: string;
}

export interface Target {
  url: string;
  /** nginx's error log lines above notice level: where a failed request left its reason. */
  nginxErrors(): Promise<string[]>;
  deploy(image: string): Promise<DeployTiming>;
  teardown(): Promise<void>;
}

export interface Strategy {
  name: string;
  setup(registry: string, first: string): Promise<Target>;
}

/** greenlight itself, through the agent's CLI, in one of its switch modes. */
export function greenlight(mode: "nat" | "reload"): Strategy {
  return {
    name: `greenlight (${mode})`,
    setup: async (registry, first) => {
      const site = await Site.start({ registry, extra: { switch: { mode } } });
      const initial = await site.deploy(first);
      if (initial.result?.status !== "succeeded")
        throw new Error(`first deploy failed: ${initial.stdout}${initial.stderr}`);
      return {
        url: site.nginx.url,
        nginxErrors: () => errorsIn(site.nginx.dir),
        teardown: () => site.stop(),
        deploy: async (image) => {
          const run = await site.deploy(image);
          const result = run.result;
          const d = result?.durations;
          return {
            ok: result?.status === "succeeded",
            error: result?.error
              ? `${result.error.code}: ${result.error.message}`
              : result
                ? undefined
                : `exit ${run.code}: ${run.stderr.trim().split("\n").slice(-12).join(" | ")}`,
            totalMs: d?.total ?? Number.NaN,
            switchMs: d?.switch,
            pullMs: d?.pull,
            readinessMs: (d?.start ?? 0) + (d?.health ?? 0),
            drainMs: d?.drain,
            drainTailMs: d?.drainTail,
            steps: d,
          };
        },
      };
    },
  };
}

export async function errorsIn(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, "error.log"), "utf8").catch(() => "");
  return text.split("\n").filter((line) => /\[(warn|error|crit|alert|emerg)\]/.test(line));
}

const name = (prefix: string) => `bench-${prefix}-${randomBytes(3).toString("hex")}`;

async function ip(container: string): Promise<string> {
  return (await docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", container)).trim();
}

async function healthy(url: string): Promise<void> {
  await waitFor(
    url,
    async () => ((await fetch(url, { headers: { connection: "close" } })).ok ? true : undefined),
    30_000,
  );
}

async function upstreamSite(prefix: string): Promise<{ nginx: PrivateNginx; service: string }> {
  const service = name(prefix).replace(/-/g, "_");
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return { nginx: await startNginx(dir, service), service };
}

async function writeUpstream(nginx: PrivateNginx, service: string, servers: string[]): Promise<void> {
  await writeFile(
    nginx.upstreamFile,
    `upstream greenlight_${service} {\n${servers.map((s) => `    server ${s};`).join("\n")}\n}\n`,
  );
}

const reload = (nginx: PrivateNginx) =>
  run((nginx.agentConfig.reload as string[])[0] ?? "nginx", (nginx.agentConfig.reload as string[]).slice(1));

/** Stop the old container, start the new one on the same published port. */
export const naive: Strategy = {
  name: "naive stop/start",
  setup: async (_registry, first) => {
    const { nginx, service } = await upstreamSite("naive");
    const port = 20000 + Math.floor(Math.random() * 20000);
    const container = name("naive");
    await docker("run", "-d", "--name", container, "-p", `127.0.0.1:${port}:8080`, first);
    await writeUpstream(nginx, service, [`127.0.0.1:${port}`]);
    await reload(nginx);
    await healthy(`http://127.0.0.1:${port}/cgi-bin/health`);
    return {
      url: nginx.url,
      nginxErrors: () => errorsIn(nginx.dir),
      teardown: async () => {
        await docker("rm", "-f", container).catch(() => undefined);
        await nginx.stop();
      },
      deploy: async (image) => {
        const started = Date.now();
        await docker("rm", "-f", container);
        await docker("run", "-d", "--name", container, "-p", `127.0.0.1:${port}:8080`, image);
        await healthy(`http://127.0.0.1:${port}/cgi-bin/health`);
        return { ok: true, totalMs: Date.now() - started };
      },
    };
  },
};

/** Seed 000's method: both colours always in the upstream on two ports; start the idle one, stop the other. */
export const twoPort: Strategy = {
  name: "two-port nginx",
  setup: async (_registry, first) => {
    const { nginx, service } = await upstreamSite("twoport");
    const base = 20000 + Math.floor(Math.random() * 20000);
    const colours = [
      { name: name("blue"), port: base },
      { name: name("green"), port: base + 1 },
    ];
    let live = 0;
    await docker("run", "-d", "--name", colours[0]?.name ?? "", "-p", `127.0.0.1:${base}:8080`, first);
    await writeUpstream(
      nginx,
      service,
      colours.map((c) => `127.0.0.1:${c.port}`),
    );
    await reload(nginx);
    await healthy(`http://127.0.0.1:${base}/cgi-bin/health`);
    return {
      url: nginx.url,
      nginxErrors: () => errorsIn(nginx.dir),
      teardown: async () => {
        for (const c of colours) await docker("rm", "-f", c.name).catch(() => undefined);
        await nginx.stop();
      },
      deploy: async (image) => {
        const started = Date.now();
        const next = colours[1 - live];
        const old = colours[live];
        if (!next || !old) throw new Error("colours");
        await docker("run", "-d", "--name", next.name, "-p", `127.0.0.1:${next.port}:8080`, image);
        await healthy(`http://127.0.0.1:${next.port}/cgi-bin/health`);
        await docker("rm", "-f", old.name);
        live = 1 - live;
        return { ok: true, totalMs: Date.now() - started };
      },
    };
  },
};

/** Seed 002's switch: start the new colour, wait for health, rewrite the upstream, reload, stop the old at once. */
export const reloadThenStop: Strategy = {
  name: "health + reload + stop",
  setup: async (_registry, first) => {
    const { nginx, service } = await upstreamSite("seed002");
    const colours = [name("blue"), name("green")];
    let live = 0;
    await docker("run", "-d", "--name", colours[0] ?? "", first);
    const firstIp = await ip(colours[0] ?? "");
    await healthy(`http://${firstIp}:8080/cgi-bin/health`);
    await writeUpstream(nginx, service, [`${firstIp}:8080`]);
    await reload(nginx);
    return {
      url: nginx.url,
      nginxErrors: () => errorsIn(nginx.dir),
      teardown: async () => {
        for (const c of colours) await docker("rm", "-f", c).catch(() => undefined);
        await nginx.stop();
      },
      deploy: async (image) => {
        const started = Date.now();
        const next = colours[1 - live] ?? "";
        await docker("run", "-d", "--name", next, image);
        const address = await ip(next);
        await healthy(`http://${address}:8080/cgi-bin/health`);
        const switchStarted = Date.now();
        await writeUpstream(nginx, service, [`${address}:8080`]);
        await reload(nginx);
        const switchMs = Date.now() - switchStarted;
        await docker("rm", "-f", colours[live] ?? "");
        live = 1 - live;
        return { ok: true, totalMs: Date.now() - started, switchMs };
      },
    };
  },
};

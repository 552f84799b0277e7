import { after } from "node:test";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { DeployEvent, DeployResult } from "../../shared/events.js";
import { onJsonLines } from "./json-lines.js";
import { startContainerNginx, startNginx, type PrivateNginx } from "./nginx.js";
import { PARENT_CHAIN, isFenceOf, ruleArguments, serviceChain } from "../../agent/switch/nat/iptables.js";
import { docker, run } from "./run.js";
import { removeClosedFlowsRule } from "../../agent/switch/nat/closed-flows.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const AGENT_ENTRY = join(ROOT, "agent", "main.ts");

export interface AgentRun {
  code: number | null;
  events: DeployEvent[];
  result: DeployResult | undefined;
  stdout: string;
  stderr: string;
}

export interface SiteOptions {
  registry: string;
  health?: { path?: string; interval?: string; timeout?: string };
  drain?: string;
  extra?: Record<string, unknown>;
  /** The service name, shared by the agents of a fleet; each site's containers still get names of their own. */
  service?: string;
  agentId?: string;
  /** Run nginx in a container with the upstream file bind-mounted, instead of a host nginx. */
  nginxInContainer?: boolean;
  /** A worker: no port, no nginx, no switch (the site's nginx still runs, unused). */
  worker?: boolean;
  /**
   * A Swarm service (the engine must be a Swarm manager): published on the routing mesh at `publish` (no
   * switch), or without it routed to by greenlight's NAT rule.
   */
  swarm?: { publish?: number; update?: Record<string, unknown>; drain_tasks?: boolean };
}

/**
 * One service on a real stack: a private nginx in front, the agent's config in a temp state dir, and the
 * agent's CLI run as its own process, so a test can kill it at any step.
 */
export class Site {
  private constructor(
    readonly service: string,
    /** What the site's containers and NAT chain are named after. */
    readonly unit: string,
    readonly dir: string,
    readonly nginx: PrivateNginx,
    readonly configFile: string,
    readonly config: Record<string, unknown>,
  ) {}

  /** The NAT stable port the site's service was given. */
  get stablePort(): number {
    const services = this.config.services as Record<string, { switch?: { port?: number } }>;
    return services[this.service]?.switch?.port ?? 0;
  }

  static async start(options: SiteOptions): Promise<Site> {
    const dir = await mkdtemp(join(tmpdir(), "greenlight-site-"));
    const unit = `t${randomBytes(3).toString("hex")}`;
    const service = options.service ?? unit;
    const nginx = options.nginxInContainer
      ? await startContainerNginx(join(dir, "nginx"), service)
      : await startNginx(join(dir, "nginx"), service);
    const shape = options.worker
      ? { kind: "worker", health: { interval: "100ms", timeout: "15s", ...options.health } }
      : {
          port: 8080,
          health: { path: "/cgi-bin/health", interval: "100ms", timeout: "15s", ...options.health },
          nginx: nginx.agentConfig,
        };
    const traffic = options.worker
      ? {}
      : options.swarm
        ? {
            runtime: "swarm",
            swarm: {
              ...(options.swarm.publish ? { publish: options.swarm.publish } : {}),
              ...(options.swarm.drain_tasks === false ? { drain_tasks: false } : {}),
              update: { monitor: "2s", ...options.swarm.update },
            },
            ...(options.swarm.publish ? {} : { switch: { port: await freeStablePort() } }),
          }
        : // Sites live side by side on one host: each gets a stable port no other holds (the derived one, a hash
          // of the name into 1,000 ports, collides now and then), unless the test sets its own.
          { switch: { port: await freeStablePort(), ...(options.extra?.switch as Record<string, unknown>) } };
    const config = {
      id: options.agentId ?? "test-agent",
      state_dir: join(dir, "state"),
      services: {
        [service]: {
          image: `${options.registry}/testapp`,
          ...shape,
          env: { GREETING: "hello" },
          drain: options.drain ?? "30s",
          stop_grace: "5s",
          ...(unit !== service ? { container_name: unit } : {}),
          ...options.extra,
          ...traffic,
        },
      },
    };
    const configFile = join(dir, "agent.yml");
    await writeFile(configFile, stringify(config));
    return new Site(service, unit, dir, nginx, configFile, config);
  }

  /** Changes the service's own config keys (ones that depend on the site's directory, say) and saves it. */
  async configure(keys: Record<string, unknown>): Promise<void> {
    const services = this.config.services as Record<string, Record<string, unknown>>;
    Object.assign(services[this.service] ?? {}, keys);
    await writeFile(this.configFile, stringify(this.config));
  }

  /** Starts `greenlight-agent <args>`; `onEvent` sees each event as it streams. */
  spawnAgent(
    args: string[],
    onEvent?: (event: DeployEvent, child: ChildProcess) => void,
  ): { child: ChildProcess; done: Promise<AgentRun> } {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", AGENT_ENTRY, ...args, "--config", this.configFile, "--json"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const run: AgentRun = { code: null, events: [], result: undefined, stdout: "", stderr: "" };
    child.stdout?.on("data", (chunk: Buffer) => (run.stdout += chunk.toString()));
    onJsonLines(child.stdout, (parsed) => {
      const { type, ...body } = parsed;
      if (type === "event") {
        run.events.push(body as unknown as DeployEvent);
        onEvent?.(body as unknown as DeployEvent, child);
      } else if (type === "result") run.result = body as unknown as DeployResult;
    });
    child.stderr?.on("data", (chunk: Buffer) => (run.stderr += chunk.toString()));
    const done = new Promise<AgentRun>((resolve) => {
      child.on("close", (code) => {
        run.code = code;
        resolve(run);
      });
    });
    return { child, done };
  }

  deploy(image: string): Promise<AgentRun> {
    return this.spawnAgent(["deploy", "--service", this.service, "--image", image]).done;
  }

  rollback(to?: string): Promise<AgentRun> {
    return this.spawnAgent(["rollback", "--service", this.service, ...(to ? ["--to", to] : [])]).done;
  }

  reconcile(): Promise<AgentRun> {
    return this.spawnAgent(["reconcile", "--service", this.service]).done;
  }

  async history(): Promise<HistoryEntry[]> {
    const run = await this.spawnAgent(["history", "--service", this.service]).done;
    return JSON.parse(run.stdout) as HistoryEntry[];
  }

  /** What a fresh client gets from the site right now (the app's version), or the error. */
  async servedVersion(): Promise<string> {
    const response = await fetch(`${this.nginx.url}/cgi-bin/v`, { headers: { connection: "close" } });
    const text = (await response.text()).trim();
    return response.ok ? text : `HTTP ${response.status}`;
  }

  /** The service's containers as `name:state`, sorted. */
  async containers(): Promise<string[]> {
    const out = await docker(
      "ps",
      "-a",
      "--filter",
      `label=greenlight.service=${this.unit}`,
      "--format",
      "{{.Names}}:{{.State}}",
    );
    return out.split("\n").filter(Boolean).sort();
  }

  /** The service's release state as the agent saved it. */
  async state(): Promise<{ records: { id: string; status: string; by: Record<string, string> }[] }> {
    const file = join(this.dir, "state", "services", this.service, "releases.json");
    return JSON.parse(await readFile(file, "utf8")) as Awaited<ReturnType<Site["state"]>>;
  }

  /** Containers, nginx files and state, to assert that a refused or failed request changed nothing. */
  async snapshot(): Promise<string> {
    const upstream = await readFile(this.nginx.upstreamFile, "utf8");
    const stateDir = join(this.dir, "state", "services", this.service);
    const releases = await readFile(join(stateDir, "releases.json"), "utf8").catch(() => "none");
    const live = (JSON.parse(releases === "none" ? "{}" : releases) as { live?: unknown }).live;
    return JSON.stringify({ containers: await this.containers(), upstream, live });
  }

  async stop(): Promise<void> {
    await this.nginx.stop();
    await removeNatChain(this.unit);
    // Every service of the site's config (an app's worker beside the web service, say), not only its own.
    const services = this.config.services as Record<string, { container_name?: string }>;
    const units = Object.entries(services).map(([name, service]) => service.container_name ?? name);
    for (const unit of new Set([this.unit, ...units])) {
      const names = await docker("ps", "-aq", "--filter", `label=greenlight.service=${unit}`);
      for (const id of names.split("\n").filter(Boolean)) await docker("rm", "-f", id).catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface HistoryEntry {
  id: string;
  status: string;
  digest?: string;
  error?: { code: string };
  durations?: Partial<Record<string, number>>;
}

export async function listDeployLogs(site: Site): Promise<string[]> {
  return readdir(join(site.dir, "state", "deploys")).catch(() => []);
}

/** A NAT stable port that no chain on this host uses yet. */
async function freeStablePort(): Promise<number> {
  const listing = await run("iptables", ["-w", "5", "-t", "nat", "-S", PARENT_CHAIN]).catch(() => "");
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    if (!listing.includes(`--dport ${port} `)) return port;
  }
}

/** Removes a service's NAT chain and the jump to it, so test runs leave the host's nat table as they found it. */
export async function removeNatChain(service: string): Promise<void> {
  const chain = serviceChain(service);
  const listing = await run("iptables", ["-w", "5", "-t", "nat", "-S", PARENT_CHAIN]).catch(() => "");
  for (const line of listing.split("\n")) {
    if (!line.endsWith(`-j ${chain}`)) continue;
    await run("iptables", ["-w", "5", "-t", "nat", "-D", ...line.replace(/^-A /, "").split(" ")]).catch(
      () => "",
    );
  }
  const filter = await run("iptables", ["-w", "5", "-t", "filter", "-S", "OUTPUT"]).catch(() => "");
  for (const line of filter.split("\n")) {
    if (!isFenceOf(line, service)) continue;
    await run("iptables", ["-w", "5", "-t", "filter", "-D", ...ruleArguments(line)]).catch(() => "");
  }
  await removeClosedFlowsRule("nft", chain);
  await run("iptables", ["-w", "5", "-t", "nat", "-F", chain]).catch(() => "");
  await run("iptables", ["-w", "5", "-t", "nat", "-X", chain]).catch(() => "");
}

/** The sites a test file starts (push each): all stopped after its tests. */
export function useSites(): Site[] {
  const sites: Site[] = [];
  after(async () => {
    for (const site of sites) await site.stop();
  });
  return sites;
}

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Colour } from "../../shared/events.js";
import { GreenlightError } from "../../shared/errors.js";
import { parseConfig } from "../../agent/config/load.js";
import type { AgentConfig } from "../../agent/config/schema.js";
import type {
  Instance,
  InstanceSummary,
  OutputLine,
  OutputReading,
  OutputRequest,
  Proxy,
  Readiness,
  Rollout,
  RolloutOutcome,
  Runtime,
  ServicePorts,
  SwitchState,
  SwitchTarget,
  TrafficSwitch,
} from "../../agent/engine/ports.js";
import { SettledReadiness } from "../../agent/readiness/settled.js";
import { ReleaseStore, type ServiceState } from "../../agent/state/releases.js";

/**
 * A service's whole world in memory: instances, the switch, the proxy, readiness. Every call is recorded as a
 * line ("runtime.start green", "switch.to blue"), and the call named in `failAt` throws, so a test can fail any
 * step and read what the engine did about it.
 */
export class FakeWorld {
  readonly calls: string[] = [];
  failAt: string | undefined;
  readonly instances = new Map<string, { colour: Colour; running: boolean; address: string }>();
  current: SwitchState | undefined;
  /** What the release command exits with. */
  releaseExit = 0;
  /** When set, readiness waits for it (or for a cancel): a release slow to become healthy. */
  healthGate: Promise<void> | undefined;
  /** Instances per colour (the service's replicas). */
  replicas = 1;
  /** What the fake orchestrator's next update ends as (a rollout service). */
  rolloutOutcome: RolloutOutcome = { converged: true, newTasksRan: true };
  /** The image the fake orchestrator runs. */
  rolled: string | undefined;
  /** Followed outputs by instance name: calling one ends it, as a stopping container does. */
  readonly readers = new Map<string, () => void>();
  /** Instances of this colour exit soon after they start: a worker that crashes. */
  crashes: Colour | undefined;
  /** When set, a stop waits for it: an app that takes its whole grace to stop. */
  stopGate: Promise<void> | undefined;
  private next = 1;

  call(name: string): void {
    this.calls.push(name);
    if (this.failAt === name) throw new GreenlightError("INTERNAL", `${name} failed (as the test asked)`);
  }

  running(): Colour[] {
    return [...this.instances.values()]
      .filter((i) => i.running)
      .map((i) => i.colour)
      .sort();
  }

  newInstance(colour: Colour): Instance {
    const id = `c${this.next++}`;
    const address = `10.0.0.${this.next}:8080`;
    this.instances.set(id, { colour, running: true, address });
    return { id, address, gateway: "10.0.0.1" };
  }
}

class FakeRuntime implements Runtime {
  constructor(
    private readonly world: FakeWorld,
    private readonly unit = "web",
  ) {}
  nameOf(colour: Colour): string {
    return `${this.unit}-${colour}`;
  }
  async pull(image: string) {
    this.world.call("runtime.pull");
    return { digest: `sha256:${"d".repeat(64)}`, pinned: `${image.split(":")[0]}@sha256:${"d".repeat(64)}` };
  }
  async start(spec: { colour: Colour }) {
    this.world.call(`runtime.start ${spec.colour}`);
    for (const [id, i] of this.world.instances) if (i.colour === spec.colour) this.world.instances.delete(id);
    const instances = Array.from({ length: this.world.replicas }, () => this.world.newInstance(spec.colour));
    // Created, then found exited: the containers exist and must still be removed.
    this.world.call(`runtime.exited ${spec.colour}`);
    return instances;
  }
  async find(colour: Colour) {
    return [...this.world.instances]
      .filter(([, i]) => i.colour === colour && i.running)
      .map(([id, i]) => ({ id, address: i.address, gateway: "10.0.0.1" }));
  }
  async list(): Promise<InstanceSummary[]> {
    return [...this.world.instances].map(([id, i]) => ({ id, name: this.nameOf(i.colour), ...i }));
  }
  async exitState(id: string) {
    const instance = this.world.instances.get(id);
    if (instance && instance.colour === this.world.crashes) return { running: false, exitCode: 1 };
    return { running: instance?.running ?? false, exitCode: null };
  }
  async runOnce(
    spec: { command: string[]; signal?: AbortSignal },
    onLine: OutputLine,
  ): Promise<{ exitCode: number; timedOut: boolean }> {
    this.world.call(`runtime.runOnce ${spec.command.join(" ")}`);
    onLine(Buffer.from("migrating"), 0, "stdout");
    return { exitCode: this.world.releaseExit, timedOut: false };
  }
  async healthStatus() {
    return "none" as const;
  }
  async followOutput(_id: string, onLine: OutputLine) {
    onLine(Buffer.from("app: listening"), 0, "stdout");
    return () => undefined;
  }
  async readOutput(idOrName: string, request: OutputRequest, onLine: OutputLine): Promise<OutputReading> {
    const instance = this.world.instances.get(idOrName);
    const name = instance ? this.nameOf(instance.colour) : idOrName;
    this.world.call(`runtime.readOutput ${name}${request.tail !== undefined ? ` tail ${request.tail}` : ""}`);
    onLine(Buffer.from(`${name} says \u001b]0;hi\u0007hello`), 0, "stdout");
    if (!request.follow) return { ended: Promise.resolve(), stop: () => undefined };
    let stop = () => undefined as void;
    const ended = new Promise<void>((resolve) => (stop = resolve));
    this.world.readers.set(name, stop);
    return { ended, stop };
  }
  async lastOutput() {}
  async keepRunning(id: string) {
    this.world.call(`runtime.keepRunning ${this.world.instances.get(id)?.colour}`);
  }
  async openConnections() {
    return 0;
  }
  async stop(id: string) {
    const instance = this.world.instances.get(id);
    this.world.call(`runtime.stop ${instance?.colour}`);
    await this.world.stopGate;
    if (instance) instance.running = false;
  }
  async remove(idOrName: string) {
    const id = [...this.world.instances].find(
      ([id, i]) => id === idOrName || this.nameOf(i.colour) === idOrName,
    )?.[0];
    if (!id) return false;
    this.world.call(`runtime.remove ${this.world.instances.get(id)?.colour}`);
    this.world.instances.delete(id);
    return true;
  }
  async restart(id: string) {
    const instance = this.world.instances.get(id);
    this.world.call(`runtime.restart ${instance?.colour}`);
    if (instance) instance.running = true;
  }
}

class FakeSwitch implements TrafficSwitch {
  readonly mode = "nat" as const;
  constructor(private readonly world: FakeWorld) {}
  async current() {
    return this.world.current;
  }
  async switchTo(target: SwitchTarget) {
    this.world.call(`switch.to ${target.colour}`);
    this.world.current = { colour: target.colour, release: target.release, addresses: target.addresses };
    return { confirmMs: 1 };
  }
  async retire(address: string) {
    this.world.calls.push(`switch.retire ${address}`);
  }
  async tidyFences() {}
  async remove() {
    this.world.call("switch.remove");
    this.world.current = undefined;
  }
}

/** The real store on a temp dir, whose write that makes a release live can be made to fail (a full disk). */
class FailableStore extends ReleaseStore {
  constructor(
    dir: string,
    private readonly world: FakeWorld,
    service = "web",
  ) {
    super(dir, service, 10);
  }
  override async update(change: (state: ServiceState) => void): Promise<ServiceState> {
    if (this.world.failAt === "store.markLive") {
      const probe = await this.read();
      const before = probe.live?.release;
      change(probe);
      if (probe.live?.release !== before) this.world.call("store.markLive");
    }
    return super.update(change);
  }
}

export interface FakeService {
  world: FakeWorld;
  config: AgentConfig;
  compose: (config: AgentConfig, name: string) => ServicePorts;
}

export async function fakeService(
  options: {
    verify?: boolean;
    release?: boolean;
    worker?: { overlap: boolean };
    dir?: string;
    rollout?: boolean;
  } = {},
): Promise<FakeService> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "greenlight-fake-")));
  const world = new FakeWorld();
  const traffic = options.worker
    ? `    kind: worker\n    overlap: ${options.worker.overlap}\n    ready_after: 60ms\n    health: { interval: 10ms }\n`
    : `    port: 8080\n    nginx: { upstream_file: ${join(dir, "web.upstream.conf")} }\n`;
  const config = parseConfig(`id: fake
state_dir: ${dir}
services:
  web:
    image: registry.example/web
    drain: 1s
${traffic}${options.verify ? "    verify: { url: http://127.0.0.1/healthz }\n" : ""}${options.release ? '    release_command: ["migrate"]\n' : ""}`);
  const store = new FailableStore(dir, world);
  const runtime = new FakeRuntime(world);
  // Held at the health gate until the test opens it, or until the deploy is cancelled.
  const atGate = async (signal?: AbortSignal) => {
    if (!world.healthGate) return;
    await new Promise<void>((resolve, reject) => {
      void world.healthGate?.then(resolve);
      signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
  };
  const readiness: Readiness = {
    wait: async (_instance, _log, signal) => {
      world.call("readiness.wait");
      await atGate(signal);
      return { attempts: 1, elapsedMs: 1 };
    },
  };
  const proxy: Proxy = {
    prepare: async () => undefined,
    hasUpstream: async () => true,
    // The fake switch moves traffic itself; a proxy a switch would point is not part of these decisions.
    routeTo: async () => ({ confirmMs: 0 }),
    routeToStable: async () => false,
    routed: async () => undefined,
    remove: async () => world.call("proxy.remove"),
    ...(options.verify
      ? {
          verify: async () => {
            world.call("proxy.verify");
            return "HTTP 200";
          },
        }
      : {}),
  };
  const ports = (agent: AgentConfig): ServicePorts => {
    const service = agent.services.web ?? config.services.web!;
    const base = { name: "web", unit: "web", config: service, store, runtime };
    if (options.rollout) {
      const rollout: Rollout = {
        roll: async (spec, _log, signal) => {
          world.call("rollout.roll");
          await atGate(signal);
          if (world.rolloutOutcome.converged) world.rolled = spec.image;
          return world.rolloutOutcome;
        },
        revert: async () => world.call("rollout.revert"),
        state: async () => (world.rolled ? { image: world.rolled, updating: false } : undefined),
        follow: async () => world.rolloutOutcome,
        readOutput: async () => ({ ended: Promise.resolve(), stop: () => undefined }),
        remove: async () => world.call("rollout.remove"),
      };
      return { ...base, readiness, proxy, rollout, rolloutAddress: "127.0.0.1:18080" };
    }
    if (service.kind === "worker") {
      // The real readiness of a worker, over the fake runtime: its settle time and its exits are what is tested.
      const settled = new SettledReadiness(runtime, service);
      return {
        ...base,
        readiness: {
          wait: (instance, log, signal) => {
            world.call("readiness.wait");
            return settled.wait(instance, log, signal);
          },
        },
      };
    }
    return { ...base, readiness, proxy, traffic: new FakeSwitch(world) };
  };
  return { world, config, compose: (agent) => ports(agent) };
}

export interface FakeApp {
  /** Each service's own world: `web` takes traffic, `jobs` is a worker. */
  worlds: { web: FakeWorld; jobs: FakeWorld };
  config: AgentConfig;
  compose: (config: AgentConfig, name: string) => ServicePorts;
}

/** An app `shop` of a worker `jobs` then a web service `web`, one image, a release command run by `web`. */
export async function fakeApp(): Promise<FakeApp> {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-fake-app-"));
  const config = parseConfig(`id: fake
state_dir: ${dir}
services:
  web:
    image: registry.example/web
    port: 8080
    drain: 1s
    nginx: { upstream_file: ${join(dir, "web.upstream.conf")} }
  jobs:
    image: registry.example/web
    kind: worker
    ready_after: 30ms
    health: { interval: 10ms }
apps:
  shop: { services: [jobs, web], release_command: ["migrate"], release_service: web }
`);
  const web = await fakeService({ dir });
  const jobs = new FakeWorld();
  const jobsRuntime = new FakeRuntime(jobs, "jobs");
  const jobsStore = new FailableStore(dir, jobs, "jobs");
  const compose = (agent: AgentConfig, name: string): ServicePorts => {
    if (name === "web") return web.compose(agent, "web");
    const service = agent.services.jobs;
    if (name !== "jobs" || service?.kind !== "worker") throw new GreenlightError("UNKNOWN_SERVICE", name);
    const settled = new SettledReadiness(jobsRuntime, service);
    return {
      name: "jobs",
      unit: "jobs",
      config: service,
      store: jobsStore,
      runtime: jobsRuntime,
      readiness: {
        wait: (instance, log, signal) => {
          jobs.call("readiness.wait");
          return settled.wait(instance, log, signal);
        },
      },
    };
  };
  return { worlds: { web: web.world, jobs }, config, compose };
}

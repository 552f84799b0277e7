import type Docker from "dockerode";
import type { Colour } from "../../../shared/events.js";
import type { AgentConfig, ServiceConfig } from "../../config/schema.js";
import { countOpenConnections } from "./connections.js";
import { dockerUnavailable } from "../../docker-api/client.js";
import type { GreenlightError } from "../../../shared/errors.js";
import {
  containerName,
  exitState,
  healthStatus,
  inspectRunning,
  keepRunning,
  listColours,
  removeContainer,
  startColour,
  stopContainer,
} from "./containers.js";
import { followLogs, readLogs, tailLogs } from "./logs.js";
import { condensePullProgress, pullImage, type PullReport } from "./pull.js";
import type {
  Instance,
  InstanceSummary,
  OutputLine,
  OutputReading,
  OutputRequest,
  RunOnceOutcome,
  RunOnceSpec,
  Runtime,
} from "../../engine/ports.js";
import { registryAuthFor } from "./registry-auth.js";
import { runOnce } from "./run-once.js";
import { serviceEnv } from "./service-env.js";

/** A service's colours as plain Docker containers on this host: `<unit>-blue`, `<unit>-green`. */
export class DockerRuntime implements Runtime {
  /** Container pids, for reading an instance's sockets in /proc while it drains. */
  private readonly pids = new Map<string, number>();

  constructor(
    private readonly docker: Docker,
    private readonly agent: AgentConfig,
    private readonly unit: string,
    private readonly config: ServiceConfig,
  ) {}

  private get port(): number | undefined {
    return this.config.kind === "web" ? this.config.port : undefined;
  }

  nameOf(colour: Colour): string {
    return containerName(this.unit, colour);
  }

  async pull(image: string, onProgress: PullReport): Promise<{ digest: string; pinned: string }> {
    const auth = await registryAuthFor(this.agent, image);
    return pullImage(this.docker, image, auth, condensePullProgress(onProgress)).catch((error: unknown) => {
      throw this.unavailable(error) ?? error;
    });
  }

  async start(spec: {
    colour: Colour;
    release: string;
    deployId: string;
    image: string;
  }): Promise<Instance[]> {
    const env = await serviceEnv(this.config);
    // One by one: a replica that cannot start stops the rest from starting (the step's undo removes them all).
    const started: Instance[] = [];
    for (let replica = 1; replica <= this.config.replicas; replica += 1) {
      started.push(await this.startReplica({ ...spec, replica }, env));
    }
    return started;
  }

  private async startReplica(
    spec: { colour: Colour; release: string; deployId: string; image: string; replica: number },
    env: Record<string, string>,
  ): Promise<Instance> {
    const running = await startColour(this.docker, {
      service: this.unit,
      ...spec,
      ...(this.port ? { port: this.port } : {}),
      env,
      volumes: this.config.volumes,
      network: this.config.network,
      memory: this.config.memory,
      cpus: this.config.cpus,
      stopSignal: this.config.stop_signal,
      stopGraceMs: this.config.stop_grace,
      labels: this.config.labels,
      init: this.config.init,
      ...(this.config.command ? { command: this.config.command } : {}),
      ...(this.config.entrypoint ? { entrypoint: this.config.entrypoint } : {}),
      ...(this.config.user ? { user: this.config.user } : {}),
      ...(this.config.working_dir ? { workingDir: this.config.working_dir } : {}),
      hosts: this.config.hosts,
    });
    return this.instance(running);
  }

  async find(colour: Colour): Promise<Instance[]> {
    const listed = (await this.list()).filter((c) => c.colour === colour && c.running);
    listed.sort((a, b) => a.name.localeCompare(b.name));
    const found = await Promise.all(
      listed.map((c) => inspectRunning(this.docker, c.id, this.config.network)),
    );
    return found.filter((running) => running !== undefined).map((running) => this.instance(running));
  }

  list(): Promise<InstanceSummary[]> {
    return listColours(this.docker, this.unit).catch((error: unknown) => {
      throw this.unavailable(error) ?? error;
    });
  }

  exitState(id: string): Promise<{ running: boolean; exitCode: number | null }> {
    return exitState(this.docker, id);
  }

  async runOnce(spec: RunOnceSpec, onLine: OutputLine): Promise<RunOnceOutcome> {
    return runOnce(
      this.docker,
      {
        ...spec,
        name: `${this.unit}-release`,
        service: this.unit,
        env: await serviceEnv(this.config),
        volumes: this.config.volumes,
        network: this.config.network,
        ...(this.config.user ? { user: this.config.user } : {}),
        ...(this.config.working_dir ? { workingDir: this.config.working_dir } : {}),
      },
      onLine,
    );
  }

  healthStatus(id: string): Promise<"healthy" | "unhealthy" | "starting" | "none"> {
    return healthStatus(this.docker, id);
  }

  followOutput(id: string, onLine: OutputLine): Promise<() => void> {
    return followLogs(this.docker, id, onLine);
  }

  readOutput(idOrName: string, request: OutputRequest, onLine: OutputLine): Promise<OutputReading> {
    return readLogs(this.docker, idOrName, request, onLine);
  }

  lastOutput(idOrName: string, lines: number, onLine: OutputLine): Promise<void> {
    return tailLogs(this.docker, idOrName, lines, onLine);
  }

  keepRunning(id: string): Promise<void> {
    return keepRunning(this.docker, id);
  }

  async openConnections(instance: Instance): Promise<number> {
    const pid = this.pids.get(instance.id);
    if (pid === undefined) throw new Error(`no process known for ${instance.id}`);
    // A worker serves no port: nothing of it is in flight for a switch to wait on.
    return this.port ? countOpenConnections(pid, this.port) : 0;
  }

  async stop(id: string): Promise<void> {
    await stopContainer(this.docker, id, this.config.stop_grace);
  }

  async remove(idOrName: string, graceMs = 1000): Promise<boolean> {
    const removed = await removeContainer(this.docker, idOrName, graceMs);
    this.pids.delete(idOrName);
    return removed;
  }

  async restart(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  private unavailable(error: unknown): GreenlightError | undefined {
    const socket = (this.docker.modem as { socketPath?: unknown }).socketPath;
    return dockerUnavailable(error, typeof socket === "string" ? socket : "the configured socket");
  }

  private instance(running: { id: string; ip: string; gateway: string; pid: number }): Instance {
    this.pids.set(running.id, running.pid);
    const address = this.port ? `${running.ip}:${this.port}` : running.ip;
    return { id: running.id, address, gateway: running.gateway };
  }
}

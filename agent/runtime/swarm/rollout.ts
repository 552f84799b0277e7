import type Docker from "dockerode";
import { formatDuration } from "../../../shared/duration.js";
import { GreenlightError, asGreenlightError } from "../../../shared/errors.js";
import type { AgentConfig, ServiceConfig } from "../../config/schema.js";
import { dockerStatus } from "../../docker-api/client.js";
import type {
  OutputLine,
  OutputReading,
  OutputRequest,
  Rollout,
  RolloutOutcome,
  RolloutState,
  ServingTasks,
} from "../../engine/ports.js";
import type { StepLogger } from "../../engine/step-logger.js";
import { readLogs } from "../docker/logs.js";
import { registryAuthFor } from "../docker/registry-auth.js";
import { countOpenConnections } from "../docker/connections.js";
import { sendStopSignal } from "./held-stop.js";
import { removeRoutedNetwork } from "./routed-network.js";
import { servingTasks } from "./serving-tasks.js";
import { heldForDrain, routedByGreenlight, serviceSpec } from "./service-spec.js";

interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  Spec: { TaskTemplate: { ContainerSpec: { Image: string } }; Mode?: { Replicated?: { Replicas?: number } } };
  UpdateStatus?: { State?: string; StartedAt?: string; Message?: string };
}

interface TaskInfo {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Spec: { ContainerSpec: { Image: string } };
  Status: { State: string; Err?: string };
}

const ROLLED_BACK = new Set(["rollback_completed", "rollback_paused", "paused"]);
const UNDER_WAY = new Set(["updating", "rollback_started"]);

/**
 * A Swarm service on this manager, rolled by Swarm itself: a deploy creates it, or updates it to the new
 * image's digest with the configured update settings (start-first, failure action rollback), then follows
 * Swarm's progress task by task until Swarm says the update completed, or that it rolled back.
 */
export class SwarmRollout implements Rollout {
  readonly serving?: () => Promise<ServingTasks>;
  readonly openConnections?: (id: string) => Promise<number>;
  readonly stopTask?: (id: string) => Promise<void>;

  constructor(
    private readonly docker: Docker,
    private readonly agent: AgentConfig,
    private readonly unit: string,
    private readonly config: ServiceConfig,
  ) {
    if (config.kind === "web" && routedByGreenlight(config)) {
      const port = config.port;
      this.serving = () => servingTasks(docker, unit, port);
      if (!heldForDrain(config)) return;
      this.openConnections = async (id) => {
        const info = await docker.getContainer(id).inspect();
        if (!info.State.Running) throw new Error(`${id} no longer runs`);
        return countOpenConnections(info.State.Pid, port);
      };
      this.stopTask = (id) => sendStopSignal(docker, id, config.stop_signal);
    }
  }

  async roll(
    spec: { image: string; release: string; deployId: string },
    log: StepLogger,
    signal?: AbortSignal,
  ): Promise<RolloutOutcome> {
    const auth = await registryAuthFor(this.agent, spec.image);
    const body = await serviceSpec(this.docker, this.unit, this.config, spec);
    const existing = await this.inspect();
    const asked = Date.now();
    if (!existing) {
      await this.docker.createService(auth ?? {}, body);
      log.info(`created Swarm service ${this.unit} (${this.config.replicas} task(s)) on ${spec.image}`);
    } else {
      await this.update(existing, auth ?? {}, { version: existing.Version.Index }, body);
      const update = this.config.swarm?.update;
      log.info(
        `updating Swarm service ${this.unit} to ${spec.image}: ${update?.order}, ${update?.parallelism} at a time, each watched ${formatDuration(update?.monitor ?? 0)}, rolled back by Swarm on failure`,
      );
    }
    return this.watch(spec.image, asked, log, signal);
  }

  async revert(log: StepLogger): Promise<void> {
    const existing = await this.inspect();
    if (!existing) return;
    log.warn(`asking Swarm to roll ${this.unit} back to what ran before`);
    const asked = Date.now();
    // Swarm ignores the spec sent with rollback=previous and goes back to the one before the last update.
    await this.update(existing, {}, { version: existing.Version.Index, rollback: "previous" }, existing.Spec);
    const back = await this.watch(undefined, asked, log);
    if (!back.converged)
      log.error(`Swarm's rollback of ${this.unit} did not complete: ${back.message ?? "unknown"}`);
  }

  async state(): Promise<RolloutState | undefined> {
    const service = await this.inspect();
    if (!service) return undefined;
    return {
      image: service.Spec.TaskTemplate.ContainerSpec.Image,
      updating: UNDER_WAY.has(service.UpdateStatus?.State ?? ""),
    };
  }

  async follow(log: StepLogger): Promise<RolloutOutcome> {
    const service = await this.inspect();
    if (!service) return { converged: false, newTasksRan: false, message: "the service is gone" };
    return this.watch(service.Spec.TaskTemplate.ContainerSpec.Image, 0, log);
  }

  readOutput(request: OutputRequest, onLine: OutputLine): Promise<OutputReading> {
    return readLogs(this.docker, this.unit, request, onLine, "services");
  }

  async remove(): Promise<void> {
    const held = this.serving
      ? await this.docker.listContainers({
          filters: { label: [`com.docker.swarm.service.name=${this.unit}`] },
        })
      : [];
    await this.docker
      .getService(this.unit)
      .remove()
      .catch((error: unknown) => {
        if (dockerStatus(error) !== 404) throw error;
      });
    if (!this.serving) return;
    // Its tasks were held by their no-op stop signal: they get the real one now, the service being gone.
    for (const container of held) await sendStopSignal(this.docker, container.Id, this.config.stop_signal);
    // The network is in use until the last task's container is gone, a moment after the service.
    for (let attempt = 0; ; attempt++) {
      try {
        return await removeRoutedNetwork(this.docker, this.unit);
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * Follows the service until Swarm's update that began at `asked` ends. `image` is what it rolls to (undefined:
   * a rollback, which ends at Swarm's rollback_completed); each task's change of state is said once.
   */
  private async watch(
    image: string | undefined,
    asked: number,
    log: StepLogger,
    signal?: AbortSignal,
  ): Promise<RolloutOutcome> {
    const deadline = Date.now() + (this.config.swarm?.update.timeout ?? 600_000);
    const seen = new Map<string, string>();
    const nodes = new Map<string, string>();
    let newTasksRan = false;
    for (;;) {
      if (signal?.aborted) throw asGreenlightError(signal.reason, "CANCELLED");
      const service = await this.inspect();
      if (!service) return { converged: false, newTasksRan, message: "the service was removed" };
      const tasks = (await this.docker.listTasks({ filters: { service: [this.unit] } })) as TaskInfo[];
      for (const task of tasks) {
        const state = `${task.Status.State}${task.Status.Err ? ` (${task.Status.Err})` : ""}`;
        if (seen.get(task.ID) === state) continue;
        seen.set(task.ID, state);
        const fresh = image !== undefined && task.Spec.ContainerSpec.Image === image;
        if (fresh && task.Status.State === "running") newTasksRan = true;
        const node = await this.nodeName(task.NodeID, nodes);
        log.info(`${fresh ? "new" : "old"} task ${this.unit}.${task.Slot ?? "?"}${node}: ${state}`);
      }
      const update = service.UpdateStatus;
      const current = update?.StartedAt !== undefined && Date.parse(update.StartedAt) >= asked - 2000;
      const wanted = service.Spec.Mode?.Replicated?.Replicas ?? this.config.replicas;
      const running = tasks.filter(
        (t) =>
          t.DesiredState === "running" &&
          t.Status.State === "running" &&
          (!image || t.Spec.ContainerSpec.Image === image),
      ).length;
      const rejected = tasks.filter(
        (t) => image !== undefined && t.Spec.ContainerSpec.Image === image && t.Status.State === "running",
      ).length;
      // Swarm rolled back: done once no task of the refused image still runs.
      if (current && ROLLED_BACK.has(update?.State ?? "") && rejected === 0) {
        if (image === undefined) return { converged: update?.State === "rollback_completed", newTasksRan };
        return { converged: false, newTasksRan, message: update?.Message ?? update?.State ?? "rolled back" };
      }
      // An old task still running is still serving (its stop grace): the old release is not gone yet.
      const lingering = tasks.filter(
        (t) => image !== undefined && t.Spec.ContainerSpec.Image !== image && t.Status.State === "running",
      ).length;
      // Completed, or nothing to do (a new service, or the same image again): every wanted task runs it.
      if ((!current || update?.State === "completed") && running >= wanted && lingering === 0) {
        return { converged: true, newTasksRan: newTasksRan || running > 0 };
      }
      if (Date.now() > deadline) {
        throw new GreenlightError(
          "HEALTH_TIMEOUT",
          `Swarm's update of ${this.unit} did not end within ${formatDuration(this.config.swarm?.update.timeout ?? 0)} (${running}/${wanted} tasks running the new image)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private async nodeName(id: string | undefined, cache: Map<string, string>): Promise<string> {
    if (!id) return "";
    if (!cache.has(id)) {
      const node = (await this.docker
        .getNode(id)
        .inspect()
        .catch(() => undefined)) as { Description?: { Hostname?: string } } | undefined;
      cache.set(id, node?.Description?.Hostname ? ` on ${node.Description.Hostname}` : "");
    }
    return cache.get(id) ?? "";
  }

  /** POST /services/{id}/update: the version (and rollback) in the query, the spec alone in the body. */
  private update(service: ServiceInfo, auth: object, query: Record<string, string | number>, spec: object) {
    const target = this.docker.getService(service.ID) as unknown as {
      update(auth: object, options: { _query: object; _body: object }): Promise<unknown>;
    };
    return target.update(auth, { _query: query, _body: spec });
  }

  private async inspect(): Promise<ServiceInfo | undefined> {
    try {
      return (await this.docker.getService(this.unit).inspect()) as ServiceInfo;
    } catch (error) {
      if (dockerStatus(error) === 404) return undefined;
      // Docker answers 503 to every Swarm call on an engine that is not a manager.
      if (dockerStatus(error) === 503)
        throw new GreenlightError(
          "DOCKER_UNAVAILABLE",
          `this Docker engine is not a Swarm manager, so it cannot run the Swarm service ${this.unit}: run the agent on a manager (docker swarm init, or docker swarm join as a manager)`,
        );
      throw error;
    }
  }
}

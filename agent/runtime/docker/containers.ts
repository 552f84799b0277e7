import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import { dockerMessage, dockerStatus } from "../../docker-api/client.js";

import type { Colour } from "../../../shared/events.js";

export type { Colour };

export const LABEL = {
  service: "greenlight.service",
  colour: "greenlight.colour",
  release: "greenlight.release",
  deploy: "greenlight.deploy",
  /** Which replica of its colour a container is (1 when the label is absent: made before replicas). */
  replica: "greenlight.replica",
  /** Set on a one-off container (the release command), absent on a colour. */
  role: "greenlight.role",
} as const;

export interface ColourSpec {
  service: string;
  colour: Colour;
  /** Which of the colour's replicas, from 1; the first keeps the plain `<service>-<colour>` name. */
  replica?: number;
  release: string;
  deployId: string;
  image: string;
  /** The port it serves on; none for a worker. */
  port?: number;
  env: Record<string, string>;
  volumes: string[];
  network: string;
  memory?: number;
  cpus?: number;
  stopSignal: string;
  stopGraceMs: number;
  labels: Record<string, string>;
  init?: boolean;
  command?: string[];
  entrypoint?: string[];
  user?: string;
  workingDir?: string;
  hosts: Record<string, string>;
}

export interface ColourContainer {
  id: string;
  name: string;
  colour: Colour;
  release: string | undefined;
  running: boolean;
}

export interface RunningColour {
  id: string;
  /** The container's address on the service's network: what nginx proxies to and what drain watches. */
  ip: string;
  /** The network's gateway: the host's own address on that network. */
  gateway: string;
  pid: number;
}

export function containerName(service: string, colour: Colour, replica = 1): string {
  return replica > 1 ? `${service}-${colour}-${replica}` : `${service}-${colour}`;
}

export async function listColours(docker: Docker, service: string): Promise<ColourContainer[]> {
  const found = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.service}=${service}`] },
  });
  return found
    .map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      colour: c.Labels[LABEL.colour] as Colour,
      release: c.Labels[LABEL.release],
      running: c.State === "running",
    }))
    .filter((c) => c.colour === "blue" || c.colour === "green");
}

/** Address and pid of a running container, or undefined when it is not running. */
export async function inspectRunning(
  docker: Docker,
  id: string,
  network: string,
): Promise<RunningColour | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    if (!info.State.Running) return undefined;
    const networks = info.NetworkSettings.Networks as Record<
      string,
      { IPAddress?: string; Gateway?: string }
    >;
    const ip = networks[network]?.IPAddress;
    if (!ip) return undefined;
    return { id: info.Id, ip, gateway: networks[network]?.Gateway ?? "", pid: info.State.Pid };
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw error;
  }
}

export async function exitState(
  docker: Docker,
  id: string,
): Promise<{ running: boolean; exitCode: number | null }> {
  try {
    const info = await docker.getContainer(id).inspect();
    return { running: info.State.Running, exitCode: info.State.Running ? null : info.State.ExitCode };
  } catch (error) {
    if (dockerStatus(error) === 404) return { running: false, exitCode: null };
    throw error;
  }
}

/** Docker's health status of a container, from the image's HEALTHCHECK; "none" without one. */
export async function healthStatus(
  docker: Docker,
  id: string,
): Promise<"healthy" | "unhealthy" | "starting" | "none"> {
  const info = await docker.getContainer(id).inspect();
  const status = info.State.Health?.Status;
  return status === "healthy" || status === "unhealthy" || status === "starting" ? status : "none";
}

/** Creates and starts the idle colour. Only options from the agent's config reach Docker, never the request's. */
export async function startColour(docker: Docker, spec: ColourSpec): Promise<RunningColour> {
  const name = containerName(spec.service, spec.colour, spec.replica);
  await removeContainer(docker, name, 0);
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      name,
      Image: spec.image,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      ...(spec.command ? { Cmd: spec.command } : {}),
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.user ? { User: spec.user } : {}),
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      ...(spec.port ? { ExposedPorts: { [`${spec.port}/tcp`]: {} } } : {}),
      Labels: {
        ...spec.labels,
        [LABEL.service]: spec.service,
        [LABEL.colour]: spec.colour,
        [LABEL.release]: spec.release,
        [LABEL.deploy]: spec.deployId,
        [LABEL.replica]: String(spec.replica ?? 1),
      },
      StopSignal: spec.stopSignal,
      StopTimeout: Math.ceil(spec.stopGraceMs / 1000),
      HostConfig: {
        Binds: spec.volumes,
        NetworkMode: spec.network,
        ExtraHosts: Object.entries(spec.hosts).map(([name, address]) => `${name}:${address}`),
        // No restart policy until it serves: a crash while starting must show as a crash, not a restart loop.
        RestartPolicy: { Name: "no" },
        ...(spec.init ? { Init: true } : {}),
        ...(spec.memory ? { Memory: spec.memory } : {}),
        ...(spec.cpus ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
      },
    });
    await container.start();
  } catch (error) {
    throw new GreenlightError("CONTAINER_START_FAILED", `could not start ${name}: ${dockerMessage(error)}`);
  }
  const running = await inspectRunning(docker, container.id, spec.network);
  if (!running) {
    const state = await exitState(docker, container.id);
    throw new GreenlightError(
      "CONTAINER_EXITED",
      `${name} exited right after start (exit code ${state.exitCode ?? "unknown"})`,
      { exitCode: state.exitCode },
    );
  }
  return running;
}

/** Stops with the configured signal and grace (Docker sends SIGKILL after it), then removes. */
export async function removeContainer(docker: Docker, idOrName: string, graceMs: number): Promise<boolean> {
  if (!(await stopContainer(docker, idOrName, graceMs))) return false;
  await removeStopped(docker, idOrName);
  return true;
}

/** Stops with the configured signal and grace. False when there is no such container. */
export async function stopContainer(docker: Docker, idOrName: string, graceMs: number): Promise<boolean> {
  try {
    await docker.getContainer(idOrName).stop({ t: Math.ceil(graceMs / 1000) });
  } catch (error) {
    const status = dockerStatus(error);
    if (status === 404) return false;
    if (status !== 304) throw error;
  }
  return true;
}

export async function removeStopped(docker: Docker, idOrName: string): Promise<void> {
  try {
    await docker.getContainer(idOrName).remove({ force: true });
  } catch (error) {
    if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error;
  }
}

/** Once a colour serves traffic, Docker brings it back after a daemon or host restart. */
export async function keepRunning(docker: Docker, id: string): Promise<void> {
  await docker.getContainer(id).update({ RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 } });
}

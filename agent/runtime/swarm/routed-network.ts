import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import { dockerStatus } from "../../docker-api/client.js";
import type { ServingTasks } from "../../engine/ports.js";

/** The network a routed service's tasks join: a Swarm-scoped bridge, so each task has an address on this host. */
export const routedNetworkName = (unit: string): string => `greenlight-${unit}`;

async function exists(docker: Docker, name: string): Promise<boolean> {
  const listed = (await docker.listNetworks({ filters: { name: [name] } })) as { Name: string }[];
  return listed.some((network) => network.Name === name);
}

async function create(docker: Docker, body: Record<string, unknown>): Promise<void> {
  // Another deploy (or agent) creating it at the same moment is as good as this one doing it.
  await docker.createNetwork(body as unknown as Docker.NetworkCreateOptions).catch((error: unknown) => {
    if (dockerStatus(error) !== 409) throw error;
  });
}

/**
 * Creates the routed network when it is missing. Swarm attaches a service only to networks of swarm scope; a
 * bridge gets that scope from a config-only network (Docker picks the subnet from its address pools), which is
 * how a task's address stays reachable from the host's own NAT rule, unlike an overlay's.
 */
export async function ensureRoutedNetwork(docker: Docker, unit: string): Promise<string> {
  const name = routedNetworkName(unit);
  if (await exists(docker, name)) return name;
  const addresses = `${name}-addresses`;
  try {
    if (!(await exists(docker, addresses))) await create(docker, { Name: addresses, ConfigOnly: true });
    // Docker refuses labels and options on a network built from a config-only one.
    await create(docker, {
      Name: name,
      Driver: "bridge",
      Scope: "swarm",
      ConfigFrom: { Network: addresses },
    });
  } catch (error) {
    throw new GreenlightError(
      "CONTAINER_START_FAILED",
      `could not create the network ${name} that gives the service's tasks addresses on this host: ${(error as Error).message}`,
    );
  }
  return name;
}

/** Removes the routed network and its address settings; what is already gone is skipped. */
export async function removeRoutedNetwork(docker: Docker, unit: string): Promise<void> {
  const name = routedNetworkName(unit);
  for (const network of [name, `${name}-addresses`]) {
    await docker
      .getNetwork(network)
      .remove()
      .catch((error: unknown) => {
        if (dockerStatus(error) !== 404) throw error;
      });
  }
}

interface TaskSummary {
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
}

/** Task states in which its container runs (started, perhaps not yet healthy). */
const RUNS = new Set(["starting", "running"]);

type Endpoint = { ip: string; gateway: string };
/** A container's address never changes while it lives; the cache spares an inspect per task per read. */
const endpoints = new Map<string, Endpoint | null>();

async function endpointOf(docker: Docker, id: string, network: string): Promise<Endpoint | undefined> {
  if (!endpoints.has(id)) {
    if (endpoints.size > 1000) endpoints.clear();
    try {
      const info = await docker.getContainer(id).inspect();
      const attached = (
        info.NetworkSettings.Networks as Record<string, { IPAddress?: string; Gateway?: string }>
      )[network];
      endpoints.set(
        id,
        attached?.IPAddress ? { ip: attached.IPAddress, gateway: attached.Gateway ?? "" } : null,
      );
    } catch (error) {
      // A task on another node has no container here; it is not routed to from this host.
      if (dockerStatus(error) !== 404) throw error;
      return undefined;
    }
  }
  return endpoints.get(id) ?? undefined;
}

/**
 * A task still starting whose health check failed: Swarm stops it (with the held signal), and since it never
 * served it needs no drain, only its real stop signal, so Swarm's rollback is not kept waiting.
 */
async function unhealthy(docker: Docker, id: string, state: string): Promise<boolean> {
  if (state !== "starting") return false;
  const info = (await docker
    .getContainer(id)
    .inspect()
    .catch(() => undefined)) as { State?: { Health?: { Status?: string } } } | undefined;
  return info?.State?.Health?.Status === "unhealthy";
}

/**
 * The service's tasks on this host, read from Swarm: serving once Swarm counts them running (after their health
 * check passed) and until Swarm tells them to stop, then leaving; alive until their container stops.
 */
export async function servingTasks(docker: Docker, unit: string, port: number): Promise<ServingTasks> {
  const network = routedNetworkName(unit);
  const tasks = (await docker.listTasks({ filters: { service: [unit] } }).catch((error: unknown) => {
    // No service yet (a first deploy before Swarm has it): no task serves.
    if (dockerStatus(error) === 404) return [];
    throw error;
  })) as TaskSummary[];
  const result: ServingTasks = { addresses: [], alive: [], gateway: "", leaving: [] };
  for (const task of tasks) {
    const id = task.Status.ContainerStatus?.ContainerID;
    if (!id || !RUNS.has(task.Status.State)) continue;
    const endpoint = await endpointOf(docker, id, network);
    if (!endpoint) continue;
    const address = `${endpoint.ip}:${port}`;
    result.alive.push(address);
    result.gateway = endpoint.gateway;
    if (task.DesiredState !== "running" || (await unhealthy(docker, id, task.Status.State)))
      result.leaving.push({ id, address });
    else if (task.Status.State === "running") result.addresses.push(address);
  }
  return result;
}

/**
 * What Swarm sends a routed task to stop it: a signal whose default is to do nothing, so the task keeps serving
 * what it has in flight until greenlight has drained it and sends the real one. Without a running agent Swarm
 * still stops it, by SIGKILL once the stop grace period is over.
 */
export const HELD_STOP_SIGNAL = "SIGCONT";

/** The real stop signal for a held task, as a plain service's container gets it (config.stop_signal). */
export async function sendStopSignal(docker: Docker, id: string, signal: string): Promise<void> {
  await docker
    .getContainer(id)
    .kill({ signal })
    .catch((error: unknown) => {
      // Gone, or already stopped: nothing left to stop.
      if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error;
    });
}

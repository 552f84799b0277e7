import type Docker from "dockerode";
import { dockerStatus } from "../../docker-api/client.js";
import type { ServingTasks } from "../../engine/ports.js";
import { routedNetworkName } from "./routed-network.js";

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

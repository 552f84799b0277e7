import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import { dockerStatus } from "../../docker-api/client.js";

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

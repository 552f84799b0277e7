import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import type { ServiceConfig, SwarmConfig } from "../../config/schema.js";
import { serviceEnv } from "../docker/service-env.js";
import { HELD_STOP_SIGNAL } from "./held-stop.js";
import { ensureRoutedNetwork } from "./routed-network.js";

/** Beyond drain and stop_grace: Swarm's own 2 s between unbinding a task and stopping it, and a poll or two. */
const HOLD_MARGIN_MS = 5000;

const ns = (ms: number) => ms * 1_000_000;

/** Swarm's update_config as the config states it; FailureAction rollback: Swarm puts failed updates back itself. */
function updateConfig(update: SwarmConfig["update"], failureAction: "rollback" | "pause") {
  return {
    Parallelism: update.parallelism,
    Delay: ns(update.delay),
    FailureAction: failureAction,
    Monitor: ns(update.monitor),
    MaxFailureRatio: update.max_failure_ratio,
    Order: update.order,
  };
}

/** Secrets and configs are referenced by name in the config; Swarm wants their ids as well. */
async function references(
  docker: Docker,
  kind: "secrets" | "configs",
  names: string[],
): Promise<{ name: string; id: string }[]> {
  if (names.length === 0) return [];
  const listed = (await (kind === "secrets" ? docker.listSecrets() : docker.listConfigs())) as {
    ID: string;
    Spec?: { Name?: string };
  }[];
  return names.map((name) => {
    const found = listed.find((item) => item.Spec?.Name === name);
    if (!found)
      throw new GreenlightError(
        "CONTAINER_START_FAILED",
        `Swarm has no ${kind.slice(0, -1)} named ${name}: create it (docker ${kind.slice(0, -1)} create ${name} …) first`,
      );
    return { name, id: found.ID };
  });
}

/** A web service without a published port is routed to by greenlight's NAT rule on this host, not by Swarm's mesh. */
export const routedByGreenlight = (config: ServiceConfig): boolean =>
  config.kind === "web" && config.swarm?.publish === undefined;

/** A routed service's tasks are held when Swarm stops them, for greenlight to drain (unless drain_tasks: false). */
export const heldForDrain = (config: ServiceConfig): boolean =>
  routedByGreenlight(config) && config.swarm?.drain_tasks !== false;

/**
 * Where a routed service's tasks run and what they join: this node (the NAT rule reaches only its own tasks) and
 * a bridge network with an address on this host.
 */
async function routing(docker: Docker, unit: string): Promise<{ network: string; node: string }> {
  const info = (await docker.info()) as { Swarm?: { NodeID?: string } };
  const node = info.Swarm?.NodeID;
  if (!node)
    throw new GreenlightError(
      "CONTAINER_START_FAILED",
      "this Docker engine is not a Swarm node: run the agent on a manager (docker swarm init, or join as a manager)",
    );
  return { network: await ensureRoutedNetwork(docker, unit), node };
}

/**
 * The whole Swarm service spec for a release, from the agent's config only (no request supplies Docker
 * options): the same keys as a plain service where the meaning is the same.
 */
export async function serviceSpec(
  docker: Docker,
  unit: string,
  config: ServiceConfig,
  release: { image: string; release: string; deployId: string },
): Promise<Record<string, unknown>> {
  const swarm = config.swarm;
  if (!swarm) throw new GreenlightError("CONFIG_INVALID", `${unit} has no swarm settings`);
  const secrets = await references(docker, "secrets", swarm.secrets);
  const configs = await references(docker, "configs", swarm.configs);
  const env = await serviceEnv(config);
  const routed = routedByGreenlight(config) ? await routing(docker, unit) : undefined;
  const held = heldForDrain(config);
  return {
    Name: unit,
    Labels: {
      "greenlight.service": unit,
      "greenlight.release": release.release,
      "greenlight.deploy": release.deployId,
    },
    TaskTemplate: {
      ContainerSpec: {
        Image: release.image,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: config.labels,
        ...(config.entrypoint ? { Command: config.entrypoint } : {}),
        ...(config.command ? { Args: config.command } : {}),
        ...(config.user ? { User: config.user } : {}),
        ...(config.working_dir ? { Dir: config.working_dir } : {}),
        Hosts: Object.entries(config.hosts).map(([name, address]) => `${address} ${name}`),
        Mounts: config.volumes.map((volume) => {
          const [source, target, mode] = volume.split(":");
          return { Type: "bind", Source: source, Target: target, ReadOnly: mode === "ro" };
        }),
        // A routed task is held when Swarm stops it: greenlight drains it, then sends config.stop_signal itself.
        StopSignal: held ? HELD_STOP_SIGNAL : config.stop_signal,
        StopGracePeriod: ns(held ? config.drain + config.stop_grace + HOLD_MARGIN_MS : config.stop_grace),
        ...(config.init ? { Init: true } : {}),
        Secrets: secrets.map((s) => ({
          SecretName: s.name,
          SecretID: s.id,
          File: { Name: s.name, UID: "0", GID: "0", Mode: 0o444 },
        })),
        Configs: configs.map((c) => ({
          ConfigName: c.name,
          ConfigID: c.id,
          File: { Name: `/${c.name}`, UID: "0", GID: "0", Mode: 0o444 },
        })),
      },
      Resources: {
        Limits: {
          ...(config.cpus ? { NanoCPUs: Math.round(config.cpus * 1e9) } : {}),
          ...(config.memory ? { MemoryBytes: config.memory } : {}),
        },
      },
      RestartPolicy: { Condition: "any", Delay: ns(5000) },
      Networks: [...(routed ? [routed.network] : []), ...swarm.networks].map((network) => ({
        Target: network,
      })),
      ...(routed ? { Placement: { Constraints: [`node.id==${routed.node}`] } } : {}),
    },
    Mode: { Replicated: { Replicas: config.replicas } },
    UpdateConfig: updateConfig(swarm.update, "rollback"),
    // Going back is not rolled back again: a rollback that fails pauses, and the deploy says so.
    RollbackConfig: updateConfig(swarm.update, "pause"),
    ...(config.kind === "web" && swarm.publish
      ? {
          EndpointSpec: {
            Ports: [
              {
                Protocol: "tcp",
                TargetPort: config.port,
                PublishedPort: swarm.publish,
                PublishMode: "ingress",
              },
            ],
          },
        }
      : {}),
  };
}

import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import type { ServiceConfig, SwarmConfig } from "../../config/schema.js";
import { serviceEnv } from "../docker/service-env.js";

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
        StopSignal: config.stop_signal,
        StopGracePeriod: ns(config.stop_grace),
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
      Networks: swarm.networks.map((network) => ({ Target: network })),
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

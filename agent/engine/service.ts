import type Docker from "dockerode";
import { readFile } from "node:fs/promises";
import { GreenlightError } from "../../shared/errors.js";
import { findService, stablePort, type AgentConfig, type ServiceConfig } from "../config-schema.js";
import { NatSwitch } from "../traffic/nat-switch.js";
import { ReloadSwitch } from "../traffic/reload-switch.js";
import type { TrafficSwitch } from "../traffic/traffic-switch.js";
import { ContainerNginx, HostNginx, type NginxController } from "../nginx/controller.js";
import { defaultUpstreamName } from "../nginx/upstream.js";
import { ReleaseStore } from "../state/releases.js";

/** Everything the engine needs to act on one configured service. */
export interface ServiceContext {
  name: string;
  /** What Docker and the kernel know the service by: its containers, labels, NAT chain and stable port. */
  unit: string;
  config: ServiceConfig;
  store: ReleaseStore;
  nginx: NginxController;
  upstreamName: string;
  traffic: TrafficSwitch;
}

export function serviceContext(
  agent: AgentConfig,
  docker: Docker,
  name: string,
  nginxFor?: (service: ServiceConfig) => NginxController,
): ServiceContext {
  const config = findService(agent, name);
  if (!config) {
    const known = Object.keys(agent.services).join(", ") || "none";
    throw new GreenlightError(
      "UNKNOWN_SERVICE",
      `no service named "${name.slice(0, 64)}" on this agent (configured: ${known})`,
    );
  }
  const nginx =
    nginxFor?.(config) ??
    (config.nginx.container
      ? new ContainerNginx(docker, config.nginx.container, config.nginx)
      : new HostNginx(config.nginx));
  const upstreamName = config.nginx.upstream_name ?? defaultUpstreamName(name);
  const unit = config.container_name ?? name;
  const site = { service: unit, upstreamName, upstreamFile: config.nginx.upstream_file, nginx };
  const traffic =
    config.switch.mode === "nat"
      ? new NatSwitch(site, {
          port: stablePort(unit, config.switch.port),
          iptables: config.switch.iptables,
          conntrack: config.switch.conntrack,
          nft: config.switch.nft,
        })
      : new ReloadSwitch(site);
  return {
    name,
    unit,
    config,
    store: new ReleaseStore(agent.state_dir, name, config.keep_releases),
    nginx,
    upstreamName,
    traffic,
  };
}

/** The service's environment: `env_file` (KEY=VALUE lines) overridden by `env`. */
export async function serviceEnv(config: ServiceConfig): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (config.env_file) {
    let text: string;
    try {
      text = await readFile(config.env_file, "utf8");
    } catch (error) {
      throw new GreenlightError(
        "CONFIG_INVALID",
        `cannot read env_file ${config.env_file}: ${(error as Error).message}`,
      );
    }
    for (const line of text.split("\n")) {
      const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
      if (!match?.[1] || line.trim().startsWith("#")) continue;
      env[match[1]] = (match[2] ?? "").replace(/^(['"])(.*)\1$/, "$2");
    }
  }
  return { ...env, ...config.env };
}

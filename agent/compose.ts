import type Docker from "dockerode";
import { GreenlightError } from "../shared/errors.js";
import { findService, stablePort, type AgentConfig, type WebService } from "./config/schema.js";
import type { ServicePorts } from "./engine/ports.js";
import { ContainerNginx, HostNginx } from "./proxy/nginx/controller.js";
import { defaultUpstreamName } from "./proxy/nginx/upstream.js";
import { NginxProxy } from "./proxy/nginx/proxy.js";
import { DockerRuntime } from "./runtime/docker/runtime.js";
import { RuntimeHealthReadiness } from "./readiness/docker-health.js";
import { HttpReadiness } from "./readiness/http.js";
import { SettledReadiness } from "./readiness/settled.js";
import { SwarmRollout } from "./runtime/swarm/rollout.js";
import { TcpReadiness } from "./readiness/tcp.js";
import { ReleaseStore } from "./state/releases.js";
import { NatSwitch } from "./switch/nat/nat-switch.js";
import { ReloadSwitch } from "./switch/reload/reload-switch.js";

/**
 * The one place that knows which adapters a service uses: its containers on this host's Docker, nginx in front
 * (on the host or in a container), and a NAT rule or an nginx reload to move traffic; a worker has neither.
 */
export function composeService(agent: AgentConfig, docker: Docker, name: string): ServicePorts {
  const config = findService(agent, name);
  if (!config) {
    const known = Object.keys(agent.services).join(", ") || "none";
    throw new GreenlightError(
      "UNKNOWN_SERVICE",
      `no service named "${name.slice(0, 64)}" on this agent (configured: ${known})`,
    );
  }
  const unit = config.container_name ?? name;
  const runtime = new DockerRuntime(docker, agent, unit, config);
  const base = {
    name,
    unit,
    config,
    store: new ReleaseStore(agent.state_dir, name, config.keep_releases),
    runtime,
  };
  if (config.runtime === "swarm") {
    // Swarm starts, checks, moves and stops the tasks; this host's Docker only pulls and runs the release command.
    const rollout = new SwarmRollout(docker, agent, unit, config);
    const readiness = new RuntimeHealthReadiness(runtime, config.health);
    if (config.kind === "worker") return { ...base, readiness, rollout };
    const upstreamName = config.nginx.upstream_name ?? defaultUpstreamName(name);
    const proxy = new NginxProxy(new HostNginx(config.nginx), { service: name, unit, upstreamName, config });
    if (config.swarm?.publish !== undefined)
      return { ...base, readiness, rollout, proxy, rolloutAddress: `127.0.0.1:${config.swarm.publish}` };
    // No routing mesh: greenlight's NAT rule follows the tasks on this node (rollout.serving).
    return { ...base, readiness, rollout, proxy, traffic: natSwitch(proxy, unit, config.switch) };
  }
  if (config.kind === "worker") {
    return { ...base, readiness: new SettledReadiness(runtime, config) };
  }
  const nginx = config.nginx.container
    ? new ContainerNginx(docker, config.nginx.container, config.nginx)
    : new HostNginx(config.nginx);
  const upstreamName = config.nginx.upstream_name ?? defaultUpstreamName(name);
  const proxy = new NginxProxy(nginx, { service: name, unit, upstreamName, config });
  return {
    ...base,
    readiness: config.health.tcp
      ? new TcpReadiness(runtime, config.health)
      : config.health.docker
        ? new RuntimeHealthReadiness(runtime, config.health)
        : new HttpReadiness(runtime, config.health),
    proxy,
    traffic: config.switch.mode === "nat" ? natSwitch(proxy, unit, config.switch) : new ReloadSwitch(proxy),
  };
}

function natSwitch(proxy: NginxProxy, unit: string, settings: WebService["switch"]): NatSwitch {
  return new NatSwitch(proxy, {
    unit,
    port: stablePort(unit, settings.port),
    iptables: settings.iptables,
    conntrack: settings.conntrack,
    nft: settings.nft,
  });
}

/** How the engine reaches every service of an agent on this host. */
export function composeAgent(docker: Docker): {
  compose: (agent: AgentConfig, name: string) => ServicePorts;
  ping: () => Promise<void>;
} {
  return {
    compose: (agent, name) => composeService(agent, docker, name),
    ping: async () => {
      await docker.ping();
    },
  };
}

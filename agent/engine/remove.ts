import type { ServicePorts } from "./ports.js";
import type { StepLogger } from "./step-logger.js";

/**
 * Takes a service off this host, under its lock: its instances (both colours and a release command's), what
 * its switch set up, and what the agent generated for it in the proxy. Its release history stays in the state
 * directory (a later deploy of the same name starts from it).
 */
export async function removeService(ports: ServicePorts, log: StepLogger): Promise<void> {
  const { runtime, traffic, proxy, config } = ports;
  for (const instance of await runtime.list()) {
    await runtime.remove(instance.id, config.stop_grace);
    log.info(`removed ${instance.name}`);
  }
  if (await runtime.remove(`${ports.unit}-release`, 0)) log.info(`removed ${ports.unit}-release`);
  if (ports.rollout) {
    await ports.rollout.remove();
    log.info(`removed Swarm service ${ports.unit}`);
  }
  if (traffic) {
    await traffic.remove();
    log.info(`removed the ${traffic.mode} switch's rules`);
  }
  await proxy?.remove(log);
}

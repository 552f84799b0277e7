import { connect } from "node:net";
import { formatDuration } from "../../shared/duration.js";
import type { ServiceConfig } from "../config/schema.js";
import type { Instance, Readiness, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { pollInstance } from "./poll.js";

/** A connection accepted in time: nothing more can be known of a service that does not speak HTTP. */
export function tcpCheck(address: string, timeoutMs: number): Promise<true | string> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: true | string) => {
      clearTimeout(deadline);
      socket.destroy();
      resolve(outcome);
    };
    const deadline = setTimeout(() => done(`no connection within ${timeoutMs}ms`), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/** Ready when the instance accepts a TCP connection on its port (`health.tcp: true`). */
export class TcpReadiness implements Readiness {
  constructor(
    private readonly runtime: Runtime,
    private readonly health: ServiceConfig["health"],
  ) {}

  async wait(instance: Instance, log: StepLogger, signal?: AbortSignal) {
    log.info(
      `waiting for ${instance.address} to accept a connection (deadline ${formatDuration(this.health.timeout)})`,
    );
    return pollInstance(
      { runtime: this.runtime, health: this.health, instance, log },
      {
        what: `tcp ${instance.address}`,
        check: (timeoutMs) => tcpCheck(instance.address, timeoutMs),
        ready: `${instance.address} accepting connections`,
      },
      signal,
    );
  }
}

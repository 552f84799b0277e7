import { formatDuration } from "../../shared/duration.js";
import type { ServiceConfig } from "../config/schema.js";
import type { Instance, Readiness, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { httpCheck } from "./http-probe.js";
import { pollInstance } from "./poll.js";

/** Ready when the instance answers its health path with an expected status (whole answer, within deadlines). */
export class HttpReadiness implements Readiness {
  constructor(
    private readonly runtime: Runtime,
    private readonly health: ServiceConfig["health"],
  ) {}

  async wait(instance: Instance, log: StepLogger, signal?: AbortSignal) {
    const url = `http://${instance.address}${this.health.path}`;
    const [low, high] = this.health.status;
    const expected = low === 200 && high === 299 ? "2xx" : `${low}-${high}`;
    const host = this.health.host ? ` (Host: ${this.health.host})` : "";
    log.info(
      `waiting for ${url}${host} to answer ${expected} (deadline ${formatDuration(this.health.timeout)})`,
    );
    return pollInstance(
      { runtime: this.runtime, health: this.health, instance, log },
      {
        what: url,
        check: (timeoutMs) =>
          httpCheck(
            url,
            { status: this.health.status, ...(this.health.host ? { host: this.health.host } : {}) },
            timeoutMs,
          ),
        ready: `${instance.address} healthy`,
        onAttempt: (result, attempt) => {
          if (attempt === 1 || attempt % 5 === 0)
            log.debug(`not healthy yet: ${result} (attempt ${attempt})`);
        },
      },
      signal,
    );
  }
}

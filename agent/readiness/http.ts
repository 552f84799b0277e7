import { formatDuration } from "../../shared/duration.js";
import type { ServiceConfig } from "../config/schema.js";
import { waitHealthy } from "./http-probe.js";
import type { Instance, Readiness, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";

/** Ready when the instance answers its health path with 2xx (whole answer, within the deadlines). */
export class HttpReadiness implements Readiness {
  constructor(
    private readonly runtime: Runtime,
    private readonly health: ServiceConfig["health"],
  ) {}

  async wait(instance: Instance, log: StepLogger, signal?: AbortSignal) {
    const url = `http://${instance.address}${this.health.path}`;
    log.info(`waiting for ${url} to answer 2xx (deadline ${formatDuration(this.health.timeout)})`);
    const outcome = await waitHealthy({
      url,
      intervalMs: this.health.interval,
      timeoutMs: this.health.timeout,
      requestTimeoutMs: this.health.request_timeout,
      exitState: () => this.runtime.exitState(instance.id),
      onAttempt: (result, attempt) => {
        if (attempt === 1 || attempt % 5 === 0) log.debug(`not healthy yet: ${result} (attempt ${attempt})`);
      },
      ...(signal ? { signal } : {}),
    });
    log.info(`healthy after ${formatDuration(outcome.elapsedMs)} (${outcome.attempts} checks)`);
    return outcome;
  }
}

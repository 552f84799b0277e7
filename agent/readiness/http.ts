import { formatDuration } from "../../shared/duration.js";
import type { ServiceConfig } from "../config/schema.js";
import type { Instance, Readiness, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { httpCheck } from "./http-probe.js";
import { pollUntilReady } from "./poll.js";

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
    const outcome = await pollUntilReady({
      what: url,
      check: (timeoutMs) =>
        httpCheck(
          url,
          { status: this.health.status, ...(this.health.host ? { host: this.health.host } : {}) },
          timeoutMs,
        ),
      intervalMs: this.health.interval,
      timeoutMs: this.health.timeout,
      requestTimeoutMs: this.health.request_timeout,
      exitState: () => this.runtime.exitState(instance.id),
      onAttempt: (result, attempt) => {
        if (attempt === 1 || attempt % 5 === 0) log.debug(`not healthy yet: ${result} (attempt ${attempt})`);
      },
      ...(signal ? { signal } : {}),
    });
    log.info(
      `${instance.address} healthy after ${formatDuration(outcome.elapsedMs)} (${outcome.attempts} checks)`,
    );
    return outcome;
  }
}

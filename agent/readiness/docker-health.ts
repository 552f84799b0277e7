import { formatDuration } from "../../shared/duration.js";
import { GreenlightError } from "../../shared/errors.js";
import type { ServiceConfig } from "../config/schema.js";
import type { Instance, Readiness, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { pollInstance } from "./poll.js";

/**
 * Ready when the runtime says the image's own health check passes (`health.docker: true`): the HEALTHCHECK the
 * image's authors wrote, however it checks (a CLI, a socket, a query).
 */
export class RuntimeHealthReadiness implements Readiness {
  constructor(
    private readonly runtime: Runtime,
    private readonly health: ServiceConfig["health"],
  ) {}

  async wait(instance: Instance, log: StepLogger, signal?: AbortSignal) {
    if ((await this.runtime.healthStatus(instance.id)) === "none") {
      throw new GreenlightError(
        "HEALTH_TIMEOUT",
        "health.docker is set but the image has no HEALTHCHECK; add one to the image, or check health.path or health.tcp",
      );
    }
    log.info(`waiting for the image's HEALTHCHECK to pass (deadline ${formatDuration(this.health.timeout)})`);
    return pollInstance(
      { runtime: this.runtime, health: this.health, instance, log },
      {
        what: "(the image's HEALTHCHECK)",
        check: async () => {
          const status = await this.runtime.healthStatus(instance.id);
          return status === "healthy" ? true : status;
        },
        ready: `${instance.id.slice(0, 12)} healthy`,
      },
      signal,
    );
  }
}

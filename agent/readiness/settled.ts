import { formatDuration } from "../../shared/duration.js";
import { GreenlightError, asGreenlightError } from "../../shared/errors.js";
import type { WorkerService } from "../config/schema.js";
import type { Instance, Readiness, Runtime } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { RuntimeHealthReadiness } from "./docker-health.js";

/**
 * A worker is ready when its image's HEALTHCHECK passes, or, for an image without one, once it has run for
 * `ready_after` without exiting. Until it is ready it has no restart policy, so a crash loop shows as an exit
 * here instead of a container that keeps coming back.
 */
export class SettledReadiness implements Readiness {
  private readonly healthCheck: RuntimeHealthReadiness;

  constructor(
    private readonly runtime: Runtime,
    private readonly config: WorkerService,
  ) {
    this.healthCheck = new RuntimeHealthReadiness(runtime, config.health);
  }

  async wait(instance: Instance, log: StepLogger, signal?: AbortSignal) {
    if (this.config.health.docker || (await this.runtime.healthStatus(instance.id)) !== "none") {
      return this.healthCheck.wait(instance, log, signal);
    }
    const settle = this.config.ready_after;
    log.info(`no HEALTHCHECK in the image: ready once it has run ${formatDuration(settle)} without exiting`);
    const started = Date.now();
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const state = await this.runtime.exitState(instance.id);
      if (!state.running) {
        throw new GreenlightError(
          "CONTAINER_EXITED",
          `the new container exited (code ${state.exitCode ?? "unknown"}) ${formatDuration(Date.now() - started)} after it started; a worker must keep running`,
          { exitCode: state.exitCode },
        );
      }
      const elapsedMs = Date.now() - started;
      if (elapsedMs >= settle) {
        log.info(`ran ${formatDuration(elapsedMs)} without exiting: ready`);
        return { attempts, elapsedMs };
      }
      if (signal?.aborted) throw asGreenlightError(signal.reason, "CANCELLED");
      const pause = Math.min(this.config.health.interval, settle - elapsedMs);
      await new Promise((resolve) => setTimeout(resolve, Math.max(pause, 10)));
    }
  }
}

import { formatDuration } from "../../../shared/duration.js";
import { GreenlightError } from "../../../shared/errors.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/**
 * `release_command`: run once in a container of the new image, with the service's env, volumes and network,
 * before anything starts or switches (migrations). Its output is streamed as this step's; a non-zero exit or
 * its timeout fails the deploy with the old release serving and nothing switched. Nothing undoes it: what it
 * changes must work with the release still serving (as with any migration run ahead of a deploy).
 */
export const releasePhase: PlanStep<ReleaseRun> = {
  name: "release",
  when: (run) => Boolean(run.ports.config.release_command),
  async run(run) {
    const command = run.ports.config.release_command ?? [];
    const timeoutMs = run.ports.config.release_timeout;
    run.log.info(
      `running the release command once: ${command.join(" ")} (timeout ${formatDuration(timeoutMs)})`,
    );
    const started = Date.now();
    const outcome = await run.ports.runtime.runOnce(
      {
        command,
        image: run.pulled?.pinned ?? run.request.image,
        release: run.releaseId,
        deployId: run.request.deployId,
        timeoutMs,
        ...(run.request.signal ? { signal: run.request.signal } : {}),
      },
      (line, cut, stream) => run.output.line(line, cut, stream),
    );
    if (outcome.timedOut) {
      throw new GreenlightError(
        "RELEASE_COMMAND_FAILED",
        `the release command did not finish within ${formatDuration(timeoutMs)}; it was stopped, nothing was switched`,
      );
    }
    if (outcome.exitCode !== 0) {
      throw new GreenlightError(
        "RELEASE_COMMAND_FAILED",
        `the release command exited with ${outcome.exitCode}; nothing was switched, the previous release serves`,
        { exitCode: outcome.exitCode },
      );
    }
    run.log.info(`the release command succeeded in ${formatDuration(Date.now() - started)}`);
  },
};

import { formatDuration } from "../../../shared/duration.js";
import { GreenlightError } from "../../../shared/errors.js";
import type { ContainerOutput } from "../container-output.js";
import type { PlanStep } from "../plan.js";
import type { Runtime } from "../ports.js";
import type { ReleaseRun } from "../release-run.js";
import type { ReleaseRequest } from "../request.js";
import type { StepLogger } from "../step-logger.js";

export interface ReleaseCommand {
  command: string[];
  timeoutMs: number;
  /** The new image, by digest. */
  image: string;
  release: string;
}

/**
 * Runs a release command once in a container of the new image (the runtime gives it the service's env,
 * volumes and network), its output relayed; throws RELEASE_COMMAND_FAILED on a non-zero exit or a timeout.
 */
export async function runReleaseCommand(
  runtime: Runtime,
  spec: ReleaseCommand,
  request: ReleaseRequest,
  log: StepLogger,
  output: ContainerOutput,
): Promise<void> {
  log.info(
    `running the release command once: ${spec.command.join(" ")} (timeout ${formatDuration(spec.timeoutMs)})`,
  );
  const started = Date.now();
  const outcome = await runtime.runOnce(
    {
      command: spec.command,
      image: spec.image,
      release: spec.release,
      deployId: request.deployId,
      timeoutMs: spec.timeoutMs,
      ...(request.signal ? { signal: request.signal } : {}),
    },
    (line, cut, stream) => output.line(line, cut, stream),
  );
  if (outcome.timedOut) {
    throw new GreenlightError(
      "RELEASE_COMMAND_FAILED",
      `the release command did not finish within ${formatDuration(spec.timeoutMs)}; it was stopped, nothing was switched`,
    );
  }
  if (outcome.exitCode !== 0) {
    throw new GreenlightError(
      "RELEASE_COMMAND_FAILED",
      `the release command exited with ${outcome.exitCode}; nothing was switched, the previous release serves`,
      { exitCode: outcome.exitCode },
    );
  }
  log.info(`the release command succeeded in ${formatDuration(Date.now() - started)}`);
}

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
    await runReleaseCommand(
      run.ports.runtime,
      {
        command: run.ports.config.release_command ?? [],
        timeoutMs: run.ports.config.release_timeout,
        image: run.pulled?.pinned ?? run.request.image,
        release: run.releaseId,
      },
      run.request,
      run.log,
      run.output,
    );
  },
};

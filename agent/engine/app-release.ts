import { asGreenlightError, type GreenlightError } from "../../shared/errors.js";
import type { DeployResult, Step } from "../../shared/events.js";
import { formatDuration } from "../../shared/duration.js";
import type { AppConfig } from "../config/schema.js";
import { ContainerOutput } from "./container-output.js";
import { acquireServiceLock, type ServiceLock } from "./lock.js";
import type { ServicePorts } from "./ports.js";
import { runReleasePlan, type ReleaseOptions } from "./release.js";
import type { ReleaseRequest } from "./request.js";
import { rollbackTarget } from "./rollback.js";
import { StepLogger, type EventSink } from "./step-logger.js";
import { runReleaseCommand } from "./steps/release-phase.js";

export interface AppPorts {
  name: string;
  app: AppConfig;
  /** In the order they deploy. */
  services: ServicePorts[];
}

type ServiceOutcome = NonNullable<DeployResult["services"]>[number];

/**
 * One deploy of several services from one image, under all of their locks: the image pulled once (each service
 * then runs it by digest), the app's release command once, then each service's own plan in order. When one
 * fails, the services already deployed go back to the release they had before, newest first; the result says
 * how each one ended.
 */
export async function runAppRelease(
  ports: AppPorts,
  request: ReleaseRequest,
  sink: EventSink,
  options: ReleaseOptions,
): Promise<DeployResult> {
  const started = Date.now();
  const log = new StepLogger(sink);
  const names = ports.services.map((service) => service.name);
  const outcomes: ServiceOutcome[] = names.map((service) => ({ service, status: "not_started" }));
  const base = { deployId: request.deployId, service: ports.name, image: request.image };
  const ended = (status: DeployResult["status"], more: Partial<DeployResult> = {}): DeployResult => {
    const result: DeployResult = {
      ...base,
      status,
      durations: { total: Date.now() - started },
      services: outcomes,
      ...more,
    };
    options.report?.(result);
    return result;
  };
  const failedEarly = (error: GreenlightError, step: Step): DeployResult => {
    log.at(step).error(error.message, { code: error.code });
    return ended("failed", { error: { code: error.code, message: error.message, step } });
  };

  log
    .at("queue")
    .info(`${request.kind} ${request.image} to app ${ports.name}: ${names.join(", ")}, in this order`);
  const locks = await lockAll(ports, request, log, options.stateDir);
  try {
    const before = new Map<string, string | undefined>();
    for (const service of ports.services)
      before.set(service.name, (await service.store.read()).live?.release);

    const first = ports.services[0];
    if (!first) return ended("succeeded");
    log.at("pull").info(`pulling ${request.image} once for the app`);
    let pinned: string;
    let digest: string;
    try {
      ({ pinned, digest } = await first.runtime.pull(request.image, (line, kind) =>
        kind === "progress" ? log.info(line) : log.debug(line),
      ));
    } catch (error) {
      return failedEarly(asGreenlightError(error), "pull");
    }
    log.info(`pulled ${digest}`, { digest });

    const command = ports.app.release_command;
    if (command) {
      const runner =
        ports.services.find((s) => s.name === (ports.app.release_service ?? first.name)) ?? first;
      const output = new ContainerOutput({
        line: (text, stream) => log.container(text, stream),
        note: (message) => log.info(message),
      });
      try {
        await runReleaseCommand(
          runner.runtime,
          { command, timeoutMs: ports.app.release_timeout, image: pinned, release: request.deployId },
          request,
          log.at("release"),
          output,
        );
      } catch (error) {
        return failedEarly(asGreenlightError(error), "release");
      } finally {
        output.close();
      }
    }

    let failure: DeployResult | undefined;
    for (const [index, service] of ports.services.entries()) {
      const result = await runReleasePlan(service, { ...request, pinned }, tagged(sink, service.name), {
        stateDir: options.stateDir,
        locked: true,
      });
      outcomes[index] = {
        service: service.name,
        status: result.status === "succeeded" ? "succeeded" : result.status,
        ...(result.release ? { release: result.release } : {}),
      };
      if (result.status !== "succeeded") {
        failure = result;
        break;
      }
    }
    if (!failure) {
      log
        .at("record")
        .info(`app ${ports.name} is live: ${describe(outcomes)} (${formatDuration(Date.now() - started)})`);
      return ended("succeeded", { digest });
    }
    const wentBack = await rollBackDeployed(ports, outcomes, before, request, sink, log, options.stateDir);
    const reason = failure.error ?? { code: "INTERNAL", message: "failed without a reason" };
    // Rolled back: some of the app took traffic in this deploy, and what served before serves again.
    return ended(wentBack || failure.status === "rolled_back" ? "rolled_back" : "failed", {
      digest,
      error: { ...reason, message: `${failure.service}: ${reason.message}` },
    });
  } finally {
    for (const lock of locks.reverse()) await lock.release();
  }
}

/** Every service's lock, in name order (two apps sharing a service cannot each hold one the other waits for). */
async function lockAll(
  ports: AppPorts,
  request: ReleaseRequest,
  log: StepLogger,
  stateDir: string,
): Promise<ServiceLock[]> {
  const locks: ServiceLock[] = [];
  try {
    for (const service of [...ports.services].sort((a, b) => a.name.localeCompare(b.name))) {
      locks.push(
        await acquireServiceLock(stateDir, service.name, request.deployId, {
          timeoutMs: service.config.lock_timeout,
          ...(request.signal ? { signal: request.signal } : {}),
          onWait: (owner) => log.info(`waiting for deploy ${owner.deployId} of ${service.name} to finish`),
        }),
      );
    }
    return locks;
  } catch (error) {
    for (const lock of locks.reverse()) await lock.release();
    throw error;
  }
}

/** The services that went live in this deploy, back on their previous release, the last deployed first. */
async function rollBackDeployed(
  ports: AppPorts,
  outcomes: ServiceOutcome[],
  before: Map<string, string | undefined>,
  request: ReleaseRequest,
  sink: EventSink,
  log: StepLogger,
  stateDir: string,
): Promise<boolean> {
  let wentBack = false;
  for (const [index, service] of [...ports.services.entries()].reverse()) {
    if (outcomes[index]?.status !== "succeeded") continue;
    const previous = before.get(service.name);
    if (!previous) {
      log
        .at("rollback")
        .warn(
          `${service.name} had no release before this deploy: release ${outcomes[index]?.release} stays live`,
        );
      continue;
    }
    log.at("rollback").warn(`putting ${service.name} back on release ${previous}, as a later service failed`);
    try {
      const target = rollbackTarget(await service.store.read(), service.config.image, previous);
      // Not cancellable: a cancel is what may have failed the app, and this puts things back.
      const back = {
        deployId: request.deployId,
        by: request.by,
        kind: "rollback" as const,
        image: target.image,
      };
      const result = await runReleasePlan(service, back, tagged(sink, service.name), {
        stateDir,
        locked: true,
      });
      if (result.status === "succeeded") {
        outcomes[index] = {
          service: service.name,
          status: "rolled_back",
          ...(result.release ? { release: result.release } : {}),
        };
        wentBack = true;
      } else
        log.at("rollback").error(`${service.name} could not go back: ${result.error?.message ?? "failed"}`);
    } catch (error) {
      log.at("rollback").error(`${service.name} could not go back: ${asGreenlightError(error).message}`);
    }
  }
  return wentBack;
}

/** A service's events in the app's log, each saying whose it is. */
function tagged(sink: EventSink, service: string): EventSink {
  return (event) => sink({ ...event, message: `${service}: ${event.message}`.slice(0, 8192) });
}

function describe(outcomes: ServiceOutcome[]): string {
  return outcomes.map((o) => `${o.service} release ${o.release ?? "?"}`).join(", ");
}

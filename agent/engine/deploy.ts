import type Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { GreenlightError, asGreenlightError } from "../../shared/errors.js";
import type { DeployResult, Durations, Step } from "../../shared/events.js";
import { formatDuration } from "../../shared/duration.js";
import { parseImageReference, registryOf } from "../../shared/names.js";
import type { AgentConfig } from "../config-schema.js";
import {
  containerName,
  exitState,
  inspectRunning,
  keepRunning,
  removeContainer,
  removeStopped,
  startColour,
  stopContainer,
  type RunningColour,
} from "../docker/containers.js";
import { waitHealthy } from "../docker/health.js";
import { followLogs, tailLogs } from "../docker/logs.js";
import { condensePullProgress, pullImage, type RegistryAuth } from "../docker/pull.js";
import { readFile } from "node:fs/promises";
import { exists } from "../fs-probe.js";
import { ensureServerBlock } from "../nginx/server-block.js";
import { markLive, otherColour, type Colour, type ReleaseRecord } from "../state/releases.js";
import { drainConnections } from "./drain.js";
import { verifyThroughProxy } from "./verify.js";
import { acquireServiceLock } from "./lock.js";
import { reconcileService } from "./reconcile.js";
import { serviceEnv, type ServiceContext } from "./service.js";
import { StepLogger, type EventSink } from "./step-logger.js";
import { ContainerOutput } from "./container-output.js";

export interface ReleaseRequest {
  deployId: string;
  kind: "deploy" | "rollback";
  image: string;
  /** Who asked: key name, CI repository, commit, actor, run URL. Recorded with the release. */
  by: Record<string, string>;
  signal?: AbortSignal;
}

export function newDeployId(): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `d${stamp}-${randomBytes(3).toString("hex")}`;
}

/** The image must live in the service's own repository: the agent never runs anything else. */
export function assertImageAllowed(ctx: ServiceContext, image: string): void {
  const parsed = parseImageReference(image);
  if (!parsed) {
    throw new GreenlightError(
      "INVALID_ARGUMENT",
      `"${image.slice(0, 200)}" is not an image reference (repo[:tag][@sha256:…])`,
    );
  }
  if (parsed.repository !== ctx.config.image) {
    throw new GreenlightError(
      "POLICY_IMAGE_NOT_ALLOWED",
      `service ${ctx.name} may only run images from ${ctx.config.image}, not ${parsed.repository}`,
    );
  }
}

async function registryAuth(agent: AgentConfig, image: string): Promise<RegistryAuth | undefined> {
  const host = registryOf(image);
  const auth = agent.registries[host];
  if (!auth) return undefined;
  const password = auth.password ?? (await readFile(auth.password_file ?? "", "utf8")).trim();
  return { username: auth.username, password, serveraddress: host };
}

/**
 * Runs one release of one service: pull → start the idle colour → health → switch → drain → stop the old
 * colour → record. Any failure before the switch removes the new colour and leaves the old one serving.
 */
export async function runRelease(
  agent: AgentConfig,
  docker: Docker,
  ctx: ServiceContext,
  request: ReleaseRequest,
  sink: EventSink,
): Promise<DeployResult> {
  const log = new StepLogger(sink);
  const started = Date.now();
  const durations: Durations = { total: 0 };
  const timed = async <T>(step: Step & keyof Durations, work: () => Promise<T>): Promise<T> => {
    log.at(step);
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      durations[step] = Date.now() - t0;
    }
  };
  const base = { deployId: request.deployId, service: ctx.name, image: request.image };

  assertImageAllowed(ctx, request.image);
  log.at("queue").info(`${request.kind} ${request.image} to ${ctx.name} (${request.deployId})`);
  const lock = await timed("queue", () =>
    acquireServiceLock(agent.state_dir, ctx.name, request.deployId, {
      timeoutMs: ctx.config.lock_timeout,
      signal: request.signal,
      onWait: (owner) => log.info(`waiting for deploy ${owner.deployId} of ${ctx.name} to finish`),
    }),
  );

  let release: ReleaseRecord | undefined;
  let fresh: RunningColour | undefined;
  let switched = false;
  /** The new release is recorded as live: from here on the old colour may go, and nothing switches back. */
  let recorded = false;
  /** Puts traffic back on the old colour (still running), drains and removes the new one, restores the state. */
  let switchBack: (() => Promise<void>) | undefined;
  let streamedContainerLines = false;
  let stopLogs: (() => void) | undefined;
  const output = new ContainerOutput({
    line: (text, stream) => log.container(text, stream),
    note: (message) => log.info(message),
  });
  let failedStep: Step = "queue";
  try {
    // The pull touches neither the switch nor the state, so it runs while the agent reconciles: on a cached
    // image most of a deploy's fixed cost is this bookkeeping, on a fresh one the pull hides it.
    const pullLog = new StepLogger(sink).at("pull");
    const pullStarted = Date.now();
    const pulling = (async () => {
      pullLog.info(`pulling ${request.image}`);
      const image = await pullImage(
        docker,
        request.image,
        await registryAuth(agent, request.image),
        condensePullProgress((line) => pullLog.debug(line)),
      );
      pullLog.info(`pulled ${image.digest}`, { digest: image.digest });
      return image;
    })().finally(() => (durations.pull = Date.now() - pullStarted));
    // Awaited below; until then a failure must not surface as an unhandled rejection.
    pulling.catch(() => undefined);

    log.at("reconcile");
    await reconcileService(docker, ctx, log);
    const state = await ctx.store.read();
    const live = state.live;
    const colour: Colour = live ? otherColour(live.colour) : "blue";
    const now = new Date().toISOString();
    const updated = await ctx.store.update((s) => {
      release = {
        id: String(s.nextId),
        deployId: request.deployId,
        kind: request.kind,
        image: request.image,
        colour,
        status: "in_progress",
        startedAt: now,
        by: request.by,
      };
      s.nextId += 1;
      s.records.push(release);
    });
    release = updated.records.find((r) => r.deployId === request.deployId);
    if (!release) throw new GreenlightError("INTERNAL", "release record was not saved");
    const releaseId = release.id;

    // The live colour does not change while this deploy holds the lock: look it up while the pull and start run.
    const previousLookup = live ? liveContainer(docker, ctx, live.colour) : Promise.resolve(undefined);
    previousLookup.catch(() => undefined);

    failedStep = "pull";
    const pulled = await pulling;
    release.digest = pulled.digest;

    failedStep = "start";
    log.at("start").info(`starting ${containerName(ctx.unit, colour)} (release ${releaseId})`);
    const env = await serviceEnv(ctx.config);
    fresh = await timed("start", () =>
      startColour(docker, {
        service: ctx.unit,
        colour,
        release: releaseId,
        deployId: request.deployId,
        image: pulled.pinned,
        port: ctx.config.port,
        env,
        volumes: ctx.config.volumes,
        network: ctx.config.network,
        memory: ctx.config.memory,
        cpus: ctx.config.cpus,
        stopSignal: ctx.config.stop_signal,
        stopGraceMs: ctx.config.stop_grace,
        labels: ctx.config.labels,
      }),
    );
    const address = `${fresh.ip}:${ctx.config.port}`;
    const freshGateway = fresh.gateway;
    log.info(`started ${containerName(ctx.unit, colour)} at ${address}`, {
      container: fresh.id.slice(0, 12),
      address,
    });

    failedStep = "health";
    // Followed until the deploy ends: lines printed while it starts, on failure, and around the switch all show.
    stopLogs = await followLogs(docker, fresh.id, (line, cut, stream) => {
      streamedContainerLines = true;
      output.line(line, cut, stream);
    });
    const freshId = fresh.id;
    const freshPid = fresh.pid;
    await timed("health", async () => {
      const health = ctx.config.health;
      log.info(
        `waiting for http://${address}${health.path} to answer 2xx (deadline ${formatDuration(health.timeout)})`,
      );
      const outcome = await waitHealthy({
        url: `http://${address}${health.path}`,
        intervalMs: health.interval,
        timeoutMs: health.timeout,
        requestTimeoutMs: health.request_timeout,
        exitState: () => exitState(docker, freshId),
        onAttempt: (result, attempt) => {
          if (attempt === 1 || attempt % 5 === 0)
            log.debug(`not healthy yet: ${result} (attempt ${attempt})`);
        },
        signal: request.signal,
      });
      log.info(`healthy after ${formatDuration(outcome.elapsedMs)} (${outcome.attempts} checks)`);
    });

    failedStep = "switch";
    const previous = await previousLookup;
    // Set before the switch: once traffic is on the new colour, nothing but this may fail before it is recorded.
    await keepRunning(docker, freshId);
    if (live && previous) {
      switchBack = async () => {
        log.warn(`switching back to ${live.colour} (release ${live.release}), which still runs`);
        const back = { ...live, address: `${previous.ip}:${ctx.config.port}`, gateway: previous.gateway };
        await ctx.traffic.switchTo(back, log);
        switched = false;
        await ctx.store
          .update((s) => {
            markLive(s, live);
            // Recorded as failed below, like any release that did not stay live.
            const record = s.records.find((r) => r.id === releaseId);
            if (record) record.status = "in_progress";
          })
          .catch((e: unknown) =>
            log.warn(`could not record the switch back: ${asGreenlightError(e).message}`),
          );
        // The new colour served for a moment: its requests finish before it goes.
        await drainConnections(freshPid, ctx.config.port, ctx.config.drain, () => undefined);
        await removeContainer(docker, freshId, ctx.config.stop_grace);
        await ctx.traffic.retire(address);
        log.info(`release ${live.release} serves again; removed ${containerName(ctx.unit, colour)}`);
      };
    }
    await timed("switch", async () => {
      const target = { colour, release: releaseId, address, gateway: freshGateway };
      // The server block proxies to the upstream: before the switch when that exists (a bad block then fails
      // the deploy before traffic moves), after it on a first deploy.
      const server = () =>
        ensureServerBlock(ctx.nginx, ctx.name, ctx.upstreamName, ctx.config.nginx.server, log);
      const upstreamExists = await exists(ctx.config.nginx.upstream_file);
      if (upstreamExists) await server();
      const { confirmMs } = await ctx.traffic.switchTo(target, log);
      switched = true;
      await ctx.store.update((s) => {
        markLive(s, { colour, release: releaseId });
        const record = s.records.find((r) => r.id === releaseId);
        if (record) record.digest = pulled.digest;
      });
      recorded = true;
      log.info(
        `new requests go to ${colour} (release ${releaseId}); switch (${ctx.traffic.mode}) confirmed in ${confirmMs}ms`,
      );
      if (!upstreamExists) await server();
    });

    const verify = ctx.config.verify;
    if (verify && live && previous) {
      failedStep = "verify";
      const verdict = await timed("verify", async () => {
        log.info(`verifying through the proxy: ${verify.url}${verify.host ? ` (Host: ${verify.host})` : ""}`);
        try {
          const answer = await verifyThroughProxy(verify, request.signal);
          log.info(`the proxy serves the new release (${answer})`);
          return undefined;
        } catch (error) {
          return asGreenlightError(error);
        }
      });
      if (verdict) {
        log.error(verdict.message, { code: verdict.code });
        await switchBack?.();
        switchBack = undefined;
        throw verdict;
      }
    }

    // The new release's own traffic logs are not the deploy's business once it serves.
    stopLogs?.();
    stopLogs = undefined;
    output.close();

    failedStep = "drain";
    if (previous) {
      await timed("drain", async () => {
        log.info(
          `draining ${live?.colour}: waiting for its in-flight requests (deadline ${formatDuration(ctx.config.drain)})`,
        );
        const outcome = await drainConnections(previous.pid, ctx.config.port, ctx.config.drain, (open) =>
          log.info(`${open} request(s) still in flight on ${live?.colour}`),
        );
        if (outcome.drained) durations.drainTail = outcome.tailMs;
        if (outcome.drained) log.info(`${live?.colour} drained in ${formatDuration(outcome.elapsedMs)}`);
        else log.warn(`drain deadline passed with ${outcome.remaining} connection(s) open; stopping anyway`);
      });
      failedStep = "stop";
      await timed("stop", async () => {
        log.info(
          `stopping ${containerName(ctx.unit, otherColour(colour))} (${ctx.config.stop_signal}, grace ${formatDuration(ctx.config.stop_grace)})`,
        );
        await stopContainer(docker, previous.id, ctx.config.stop_grace);
        // A stopped container has left the network: its address can be retired while Docker removes it.
        await Promise.all([
          removeStopped(docker, previous.id),
          ctx.traffic.retire(`${previous.ip}:${ctx.config.port}`),
        ]);
        log.info(`stopped and removed ${containerName(ctx.unit, otherColour(colour))}`);
      });
    }

    durations.total = Date.now() - started;
    log.at("record");
    await ctx.store.update((s) => {
      const record = s.records.find((r) => r.id === releaseId);
      if (record) {
        record.finishedAt = new Date().toISOString();
        record.durations = durations;
      }
    });
    const previousRelease = live?.release;
    log.info(`release ${releaseId} is live (${formatDuration(durations.total)})`);
    return {
      ...base,
      status: "succeeded",
      release: releaseId,
      digest: pulled.digest,
      colour,
      ...(previousRelease ? { previousRelease } : {}),
      durations,
    };
  } catch (thrown) {
    const error = asGreenlightError(thrown);
    log.at(failedStep).error(error.message, { code: error.code });
    if (switched && !recorded && switchBack) {
      // Traffic moved but the release was never recorded live: the old colour, still running, takes it back.
      await switchBack().catch((e: unknown) =>
        log.error(
          `switching back failed: ${asGreenlightError(e).message}; reconcile will restore the recorded state`,
        ),
      );
    }
    if (!switched && release) {
      const name = containerName(ctx.unit, release.colour);
      if (!streamedContainerLines) {
        // It died before its log was followed (a crash on start): show its last words anyway.
        await tailLogs(docker, name, 30, (line, cut, stream) => output.line(line, cut, stream)).catch(
          () => undefined,
        );
      }
      const removed = await removeContainer(docker, name, 1000).catch((e: unknown) => {
        log.warn(`could not remove the failed container: ${asGreenlightError(e).message}`);
        return false;
      });
      if (removed) log.info("removed the new container; the previous release keeps serving");
    }
    durations.total = Date.now() - started;
    const releaseId = release?.id;
    if (releaseId) {
      await ctx.store
        .update((s) => {
          const record = s.records.find((r) => r.id === releaseId);
          if (record && record.status === "in_progress") {
            record.status = "failed";
            record.finishedAt = new Date().toISOString();
            record.durations = durations;
            record.error = { code: error.code, message: error.message, step: failedStep };
          }
        })
        .catch(() => undefined);
    }
    return {
      ...base,
      status: "failed",
      ...(releaseId ? { release: releaseId } : {}),
      ...(release?.digest ? { digest: release.digest } : {}),
      durations,
      error: { code: error.code, message: error.message, step: failedStep },
    };
  } finally {
    stopLogs?.();
    output.close();
    await lock.release();
  }
}

async function liveContainer(
  docker: Docker,
  ctx: ServiceContext,
  colour: Colour,
): Promise<RunningColour | undefined> {
  return inspectRunning(docker, containerName(ctx.unit, colour), ctx.config.network);
}

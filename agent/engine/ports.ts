import type { Colour } from "../../shared/events.js";
import type { ServiceConfig } from "../config/schema.js";
import type { ReleaseStore } from "../state/releases.js";
import type { StepLogger } from "./step-logger.js";

/**
 * What the deploy engine needs from the world, and nothing of how: a Runtime runs the service's instances (Docker
 * today, Swarm next), a Proxy fronts them (nginx today), a TrafficSwitch moves new requests between colours (a
 * kernel NAT rule or an nginx reload), Readiness says when an instance may take traffic. The engine imports only
 * these; agent/compose.ts is the one place that picks adapters for a service.
 */

/** One running instance of a colour (a colour has `replicas` of them). */
export interface Instance {
  id: string;
  /** `ip:port` where it serves, on the service's network (a worker's: its ip). */
  address: string;
  /** The host's own address on that network (NAT mode's stable address). */
  gateway: string;
}

export interface InstanceSummary {
  id: string;
  name: string;
  colour: Colour;
  running: boolean;
}

/** A container's output line as read: at most a few KiB of it, and how many bytes more it had. */
export type OutputLine = (line: Buffer, cutBytes: number, stream: "stdout" | "stderr") => void;

export interface OutputRequest {
  follow: boolean;
  tail?: number;
  sinceS?: number;
}

export interface OutputReading {
  /** Resolves when the output ends: the instance stopped, or `stop()` was called. */
  ended: Promise<void>;
  stop(): void;
}

/** A command run once to its end (the release phase). */
export interface RunOnceSpec {
  command: string[];
  image: string;
  release: string;
  deployId: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface RunOnceOutcome {
  exitCode: number;
  timedOut: boolean;
}

export interface Runtime {
  /** What the instances of a colour are called (logs, messages). */
  nameOf(colour: Colour): string;
  /** Pulls the image; `progress` lines say how far it is (condensed), `detail` lines are for debugging. */
  pull(
    image: string,
    onProgress: (line: string, kind: "progress" | "detail") => void,
  ): Promise<{ digest: string; pinned: string }>;
  /** Starts the colour's instances (the service's replicas); throws if one cannot start. */
  start(spec: { colour: Colour; release: string; deployId: string; image: string }): Promise<Instance[]>;
  /** The running instances of a colour; none when it does not run. */
  find(colour: Colour): Promise<Instance[]>;
  list(): Promise<InstanceSummary[]>;
  exitState(id: string): Promise<{ running: boolean; exitCode: number | null }>;
  /** The image's own health check, as the runtime reports it; "none" when the image has none. */
  healthStatus(id: string): Promise<"healthy" | "unhealthy" | "starting" | "none">;
  followOutput(id: string, onLine: OutputLine): Promise<() => void>;
  /**
   * An instance's output as the operator asks for it (`greenlight logs`): the last `tail` lines, those since
   * `sinceS` seconds ago, and with `follow` what it prints until it stops or `stop()`.
   */
  readOutput(idOrName: string, options: OutputRequest, onLine: OutputLine): Promise<OutputReading>;
  lastOutput(idOrName: string, lines: number, onLine: OutputLine): Promise<void>;
  /**
   * Runs a command once to its end in a new instance of `image` with the service's env, volumes and network
   * (the release phase), streaming its output; a timeout or the signal kills it. The instance is removed.
   */
  runOnce(spec: RunOnceSpec, onLine: OutputLine): Promise<RunOnceOutcome>;
  /** Restart it if it dies or the host reboots: set before it serves. */
  keepRunning(id: string): Promise<void>;
  /** Requests in flight on it (established connections on its side). Throws once it is gone. */
  openConnections(instance: Instance): Promise<number>;
  /** Stops it with its signal and grace, then removes it. */
  stop(id: string): Promise<void>;
  /** Stops it (a short grace unless given) and removes it; false when there was nothing to remove. */
  remove(idOrName: string, graceMs?: number): Promise<boolean>;
  restart(id: string): Promise<void>;
}

export interface Readiness {
  /** Resolves once `instance` may take traffic; throws HEALTH_TIMEOUT / CONTAINER_EXITED. */
  wait(
    instance: Instance,
    log: StepLogger,
    signal?: AbortSignal,
  ): Promise<{ attempts: number; elapsedMs: number }>;
}

export interface Proxy {
  /** Before the switch (when an upstream exists) or after a first switch: the site's own config. */
  prepare(log: StepLogger): Promise<void>;
  /** Whether the proxy already has the service's upstream (a first deploy has none yet). */
  hasUpstream(): Promise<boolean>;
  /**
   * Points the upstream at one colour, applies it and resolves once the proxy serves from it (reload mode's
   * switch). Throws with the proxy's own words when it refuses the change; the old upstream then stays.
   */
  routeTo(target: SwitchState, log: SwitchLogger): Promise<{ confirmMs: number }>;
  /**
   * Points the upstream at an address that never changes between deploys (NAT mode's stable address); applies
   * nothing when it already does. Resolves true when it changed something.
   */
  routeToStable(address: string, log: SwitchLogger): Promise<boolean>;
  /** The colour the upstream names, read from the proxy's own config; undefined when it names none. */
  routed(): Promise<SwitchState | undefined>;
  /** Takes the service out of the proxy: what the agent generated for it goes, the proxy reloads. */
  remove(log: SwitchLogger): Promise<void>;
  /** One request through the proxy to the service; throws VERIFY_FAILED. Undefined: nothing to verify. */
  verify?(signal?: AbortSignal): Promise<string>;
}

export interface SwitchTarget {
  colour: Colour;
  release: string;
  /** `ip:port` of each of the colour's instances on its network; new requests are spread over them. */
  addresses: string[];
  /** The network's gateway: the host's own address on the colour's network (NAT mode's stable address). */
  gateway: string;
}

export interface SwitchState {
  colour: Colour;
  release: string;
  addresses: string[];
}

export interface SwitchLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Moves new requests from one colour to the other. In-flight requests finish where they started; the engine
 * drains them afterwards. `current()` reads what the switch itself holds (file or kernel rule), the ground truth
 * for reconciling after a crash.
 */
export interface TrafficSwitch {
  readonly mode: "reload" | "nat";
  current(): Promise<SwitchState | undefined>;
  /** Optional: what a switch to `target` needs that moves no traffic, done early (while the colour starts). */
  prepare?(target: SwitchTarget, log: SwitchLogger): Promise<void>;
  switchTo(target: SwitchTarget, log: SwitchLogger): Promise<{ confirmMs: number }>;
  /** Called once the old colour is stopped: forget what points at it and can no longer finish. */
  retire(oldAddress: string): Promise<void>;
  /** Lifts fences that no longer turn anything away; run by reconcile. */
  tidyFences(): Promise<void>;
  /** Removes everything the switch set up for the service (its rules); the service serves no more after it. */
  remove(): Promise<void>;
}

/** What the orchestrator runs for a service, and whether it is still rolling it. */
export interface RolloutState {
  /** `repo@sha256:…` the service runs (or rolls to). */
  image: string;
  updating: boolean;
}

export interface RolloutOutcome {
  /** Every task runs the new image. */
  converged: boolean;
  /** Some task of the new image ran (took traffic) before the end. */
  newTasksRan: boolean;
  /** The orchestrator's own words when it did not converge (it rolled back, or paused). */
  message?: string;
}

export interface ServingTasks {
  /** `ip:port` of each task the orchestrator counts as up (healthy, not told to stop). */
  addresses: string[];
  /** `ip:port` of each task whose process still runs, serving or winding down. */
  alive: string[];
  /** The host's own address on the tasks' network (NAT mode's stable address). */
  gateway: string;
  /**
   * Tasks the orchestrator told to stop whose container still runs here, held: their stop signal does nothing,
   * so they finish what they have in flight until `stopTask` sends the real one.
   */
  leaving: { id: string; address: string }[];
}

/**
 * A runtime that rolls a service's tasks to a new image itself (Docker Swarm): it starts, checks, moves traffic
 * and stops, and rolls back on its own when new tasks fail. The engine asks for the update and follows it.
 */
export interface Rollout {
  /** Creates or updates the service to `image` and follows the update to its end. */
  roll(
    spec: { image: string; release: string; deployId: string },
    log: StepLogger,
    signal?: AbortSignal,
  ): Promise<RolloutOutcome>;
  /** Asks the orchestrator to go back to what ran before the update in progress, and follows that. */
  revert(log: StepLogger): Promise<void>;
  /** What runs now; undefined when the service does not exist yet. */
  state(): Promise<RolloutState | undefined>;
  /** Follows an update already under way (one an agent restart interrupted) to its end. */
  follow(log: StepLogger): Promise<RolloutOutcome>;
  /** The service's output, as `Runtime.readOutput` reads an instance's. */
  readOutput(request: OutputRequest, onLine: OutputLine): Promise<OutputReading>;
  /**
   * Present when greenlight routes to the tasks itself (a NAT rule over their addresses on this host) instead of
   * the orchestrator's routing mesh: the tasks that may take new requests now, and every one still running.
   */
  serving?(): Promise<ServingTasks>;
  /** Requests in flight on a held task's container; throws once it is gone. */
  openConnections?(id: string): Promise<number>;
  /** Sends a held task the service's own stop signal: it stops as its image means to, within its stop grace. */
  stopTask?(id: string): Promise<void>;
  /** Removes the service. */
  remove(): Promise<void>;
}

/** Everything the engine needs to act on one configured service. */
export interface ServicePorts {
  name: string;
  /** What the runtime and the kernel know the service by. */
  unit: string;
  config: ServiceConfig;
  store: ReleaseStore;
  runtime: Runtime;
  readiness: Readiness;
  /** Both absent for a worker: it takes no traffic, so nothing fronts it and nothing switches. */
  proxy?: Proxy;
  traffic?: TrafficSwitch;
  /**
   * Present when an orchestrator rolls the service (Swarm): the deploy asks it to update instead of starting a
   * colour and switching; `runtime` then only pulls and runs the release command on this host.
   */
  rollout?: Rollout;
  /** Where the proxy reaches a rolled service (Swarm's published port on this host). */
  rolloutAddress?: string;
}

import type { Colour } from "../../shared/events.js";
import type { ContainerOutput } from "./container-output.js";
import type { Instance, ServicePorts } from "./ports.js";
import type { ReleaseRequest } from "./request.js";
import type { StepLogger } from "./step-logger.js";

/** What the steps of one release share: its ports, what it decided, and what it started. */
export interface ReleaseRun {
  ports: ServicePorts;
  request: ReleaseRequest;
  log: StepLogger;
  output: ContainerOutput;
  releaseId: string;
  colour: Colour;
  /** What served when the release began, and its running instance. */
  live?: { colour: Colour; release: string };
  /** The live colour's running instances; absent when none runs. */
  previous?: Instance[];
  pulling: Promise<{ digest: string; pinned: string }>;
  pulled?: { digest: string; pinned: string };
  /** The new colour's instances, once started. */
  fresh?: Instance[];
  /** Stops following the new instances' output. */
  stopOutput?: () => void;
  outputSeen?: boolean;
  hadUpstream?: boolean;
  /** An orchestrator's update ran some new tasks (they took traffic) before it ended. */
  tookTraffic?: boolean;
  /** The old instance was stopped before the new one started (a worker with overlap off). */
  halted?: boolean;
  drainTail?: number;
}

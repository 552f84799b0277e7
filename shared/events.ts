import { z } from "zod";
import { DEPLOY_ID, ERROR_CODE, IMAGE_DIGEST, RELEASE_ID } from "./names.js";

/** The steps of a deploy, in the order the engine runs them. Rendered as groups/sections by the client. */
export const STEPS = [
  "queue",
  "reconcile",
  "pull",
  "start",
  "health",
  "switch",
  "verify",
  "drain",
  "stop",
  "record",
  "rollback",
] as const;
export const Step = z.enum(STEPS);
export type Step = z.infer<typeof Step>;

/** The two slots a service's releases alternate between. */
export const Colour = z.enum(["blue", "green"]);
export type Colour = z.infer<typeof Colour>;

export const Level = z.enum(["debug", "info", "warn", "error"]);
export type Level = z.infer<typeof Level>;

/** One line of a deploy's log. `source: container` lines are the container's own output, untrusted. */
export const DeployEvent = z.object({
  seq: z.number().int().nonnegative(),
  time: z.string(),
  step: Step,
  level: Level,
  source: z.enum(["agent", "container"]).default("agent"),
  message: z.string().max(8192),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});
export type DeployEvent = z.infer<typeof DeployEvent>;

export const Durations = z.object({
  total: z.number(),
  queue: z.number().optional(),
  pull: z.number().optional(),
  start: z.number().optional(),
  health: z.number().optional(),
  switch: z.number().optional(),
  verify: z.number().optional(),
  drain: z.number().optional(),
  /** Upper bound on the time between the old colour's last request ending and the drain noticing it. */
  drainTail: z.number().optional(),
  stop: z.number().optional(),
});
export type Durations = z.infer<typeof Durations>;

export const ResultStatus = z.enum(["succeeded", "failed", "rolled_back"]);
export type ResultStatus = z.infer<typeof ResultStatus>;

export const ErrorBody = z.object({
  code: z.string().regex(ERROR_CODE),
  message: z.string(),
  step: Step.optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The one result every accepted deploy or rollback ends with. */
export const DeployResult = z.object({
  deployId: z.string().regex(DEPLOY_ID),
  service: z.string().max(128),
  status: ResultStatus,
  release: z.string().regex(RELEASE_ID).optional(),
  image: z.string().max(512).optional(),
  digest: z.string().regex(IMAGE_DIGEST).optional(),
  colour: Colour.optional(),
  previousRelease: z.string().regex(RELEASE_ID).optional(),
  durations: Durations,
  error: ErrorBody.optional(),
});
export type DeployResult = z.infer<typeof DeployResult>;

import * as z from "zod/mini";
import { DEPLOY_ID, ERROR_CODE, IMAGE_DIGEST, RELEASE_ID } from "./names.js";

/** The steps of a deploy, in the order the engine runs them. Rendered as groups/sections by the client. */
export const STEPS = [
  "queue",
  "reconcile",
  "pull",
  "release",
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
  seq: z.int().check(z.nonnegative()),
  time: z.string(),
  step: Step,
  level: Level,
  source: z._default(z.enum(["agent", "container"]), "agent"),
  message: z.string().check(z.maxLength(8192)),
  data: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))),
});
export type DeployEvent = z.infer<typeof DeployEvent>;

export const Durations = z.object({
  total: z.number(),
  queue: z.optional(z.number()),
  pull: z.optional(z.number()),
  start: z.optional(z.number()),
  health: z.optional(z.number()),
  switch: z.optional(z.number()),
  verify: z.optional(z.number()),
  drain: z.optional(z.number()),
  /** Upper bound on the time between the old colour's last request ending and the drain noticing it. */
  drainTail: z.optional(z.number()),
  stop: z.optional(z.number()),
});
export type Durations = z.infer<typeof Durations>;

export const ResultStatus = z.enum(["succeeded", "failed", "rolled_back"]);
export type ResultStatus = z.infer<typeof ResultStatus>;

export const ErrorBody = z.object({
  code: z.string().check(z.regex(ERROR_CODE)),
  message: z.string(),
  step: z.optional(Step),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The one result every accepted deploy or rollback ends with. */
export const DeployResult = z.object({
  deployId: z.string().check(z.regex(DEPLOY_ID)),
  service: z.string().check(z.maxLength(128)),
  status: ResultStatus,
  release: z.optional(z.string().check(z.regex(RELEASE_ID))),
  image: z.optional(z.string().check(z.maxLength(512))),
  digest: z.optional(z.string().check(z.regex(IMAGE_DIGEST))),
  colour: z.optional(Colour),
  previousRelease: z.optional(z.string().check(z.regex(RELEASE_ID))),
  /** What serves once the deploy has ended: the new release, or after a failure the one that kept serving. */
  serving: z.optional(
    z.object({
      release: z.string().check(z.regex(RELEASE_ID)),
      digest: z.optional(z.string().check(z.regex(IMAGE_DIGEST))),
    }),
  ),
  durations: Durations,
  error: z.optional(ErrorBody),
  /** An app's deploy: how each of its services ended, in the order they were deployed. */
  services: z.optional(
    z
      .array(
        z.object({
          service: z.string().check(z.maxLength(128)),
          /** rolled_back: it went live, then went back to its previous release because a later service failed. */
          status: z.enum(["succeeded", "failed", "rolled_back", "not_started"]),
          release: z.optional(z.string().check(z.regex(RELEASE_ID))),
        }),
      )
      .check(z.maxLength(64)),
  ),
});
export type DeployResult = z.infer<typeof DeployResult>;

import * as z from "zod/mini";
import { DeployEvent, DeployResult } from "./events.js";
import { DEPLOY_ID, IMAGE_DIGEST, RELEASE_ID } from "./names.js";

/**
 * The wire protocol, one request per connection:
 *   agent → hello; client → request (a signed JWS); agent → accepted | status | error;
 *   then, for deploy/rollback/attach, event … event, result.
 * Every message is a JSON text frame validated against these schemas on both sides.
 */

export const COMMANDS = ["deploy", "rollback", "status", "attach"] as const;
export const Command = z.enum(COMMANDS);
export type Command = z.infer<typeof Command>;

/** CI metadata the client sends along; recorded with the release and in the audit log. */
export const CiMetadata = z.strictObject({
  provider: z.optional(z.string().check(z.maxLength(32))),
  repository: z.optional(z.string().check(z.maxLength(200))),
  commit: z.optional(z.string().check(z.maxLength(80))),
  ref: z.optional(z.string().check(z.maxLength(200))),
  actor: z.optional(z.string().check(z.maxLength(100))),
  runUrl: z.optional(z.string().check(z.maxLength(500))),
});
export type CiMetadata = z.infer<typeof CiMetadata>;

/** The claims of a signed request. `aud`, `nonce`, `iat`, `exp` and `jti` bind it to one agent, one connection, now. */
export const RequestClaims = z.strictObject({
  aud: z.string(),
  nonce: z.string().check(z.minLength(16), z.maxLength(128)),
  iat: z.int(),
  exp: z.int(),
  jti: z.string().check(z.minLength(16), z.maxLength(128)),
  cmd: Command,
  service: z.string().check(z.maxLength(128)),
  image: z.optional(z.string().check(z.maxLength(512))),
  to: z.optional(z.string().check(z.maxLength(128))),
  deployId: z.optional(z.string().check(z.maxLength(64))),
  fromSeq: z.optional(z.int().check(z.nonnegative())),
  ci: z.optional(CiMetadata),
  /** The client's version, for the audit log and the agent's note when it differs from its own. */
  version: z.optional(z.string().check(z.maxLength(64))),
});
export type RequestClaims = z.infer<typeof RequestClaims>;

export const Hello = z.object({
  type: z.literal("hello"),
  agentId: z.string().check(z.maxLength(256)),
  protocol: z.int(),
  nonce: z.string(),
  /** The agent's version; the client says so when it differs from its own. */
  version: z.optional(z.string().check(z.maxLength(64))),
  /** The agent's clock (ms since the epoch): a refusal for time then says how far the clocks differ. */
  time: z.optional(z.int()),
});

export const RequestMessage = z.strictObject({
  type: z.literal("request"),
  token: z.string().check(z.maxLength(16_384)),
  /** A CI ID token (OIDC) that stands in for a trusted key; `token` is then signed by a one-run key. */
  identity: z.optional(z.string().check(z.maxLength(16_384))),
});
export type RequestMessage = z.infer<typeof RequestMessage>;

/**
 * Sent by the client on the connection that started (or attached to) a deploy: undo it. The connection is the
 * one its signed request opened, so only the deploy's own requester can cancel it.
 */
export const CancelMessage = z.strictObject({ type: z.literal("cancel") });
export type CancelMessage = z.infer<typeof CancelMessage>;

export const Accepted = z.object({
  type: z.literal("accepted"),
  deployId: z.string().check(z.regex(DEPLOY_ID)),
  command: Command,
  service: z.string(),
});

export const EventMessage = z.object({
  type: z.literal("event"),
  deployId: z.string().check(z.regex(DEPLOY_ID)),
  event: DeployEvent,
});

export const ResultMessage = z.object({ type: z.literal("result"), result: DeployResult });

export const ReleaseSummary = z.object({
  id: z.string().check(z.regex(RELEASE_ID)),
  kind: z.string(),
  status: z.string(),
  image: z.string(),
  digest: z.optional(z.string().check(z.regex(IMAGE_DIGEST))),
  startedAt: z.string(),
  finishedAt: z.optional(z.string()),
  by: z.record(z.string(), z.string()),
  durationMs: z.optional(z.number()),
  error: z.optional(z.string()),
});
export type ReleaseSummary = z.infer<typeof ReleaseSummary>;

export const StatusMessage = z.object({
  type: z.literal("status"),
  service: z.string(),
  live: z.nullable(z.object({ colour: z.string(), release: z.string().check(z.regex(RELEASE_ID)) })),
  releases: z.array(ReleaseSummary),
});
export type StatusMessage = z.infer<typeof StatusMessage>;

export const ErrorMessage = z.object({ type: z.literal("error"), code: z.string(), message: z.string() });
export type ErrorMessage = z.infer<typeof ErrorMessage>;

export const AgentMessage = z.discriminatedUnion("type", [
  Hello,
  Accepted,
  EventMessage,
  ResultMessage,
  StatusMessage,
  ErrorMessage,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

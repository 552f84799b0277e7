import * as z from "zod/mini";
import { DeployEvent, DeployResult } from "./events.js";
import { MAX_LOG_LINES } from "./limits.js";
import { DEPLOY_ID, IMAGE_DIGEST, RELEASE_ID } from "./names.js";

/**
 * The wire protocol, one request per connection:
 *   agent → hello; client → request (a signed JWS); agent → accepted | status | error;
 *   then, for deploy/rollback/attach, event … event, result; for logs, log … log, logs_end.
 * Every message is a JSON text frame validated against these schemas on both sides.
 */

export const COMMANDS = ["deploy", "rollback", "status", "attach", "logs"] as const;
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
  /** logs: keep streaming as the service prints (and across its deploys). */
  follow: z.optional(z.boolean()),
  /** logs: only lines from this many seconds back. */
  since: z.optional(z.int().check(z.positive(), z.maximum(366 * 86_400))),
  /** logs: at most this many lines from before now. */
  lines: z.optional(z.int().check(z.positive(), z.maximum(MAX_LOG_LINES))),
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

/** One line of the live release's output (`agent`: the agent's own note, such as lines held back). */
export const LogMessage = z.object({
  type: z.literal("log"),
  stream: z.enum(["stdout", "stderr", "agent"]),
  line: z.string().check(z.maxLength(8192)),
});
export type LogMessage = z.infer<typeof LogMessage>;

/** The end of a logs stream, and why it ended. */
export const LogsEnd = z.object({
  type: z.literal("logs_end"),
  reason: z.string().check(z.maxLength(512)),
});

export const ErrorMessage = z.object({ type: z.literal("error"), code: z.string(), message: z.string() });
export type ErrorMessage = z.infer<typeof ErrorMessage>;

export const AgentMessage = z.discriminatedUnion("type", [
  Hello,
  Accepted,
  EventMessage,
  ResultMessage,
  StatusMessage,
  LogMessage,
  LogsEnd,
  ErrorMessage,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

import { z } from "zod";
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
export const CiMetadata = z
  .object({
    provider: z.string().max(32).optional(),
    repository: z.string().max(200).optional(),
    commit: z.string().max(80).optional(),
    ref: z.string().max(200).optional(),
    actor: z.string().max(100).optional(),
    runUrl: z.string().max(500).optional(),
  })
  .strict();
export type CiMetadata = z.infer<typeof CiMetadata>;

/** The claims of a signed request. `aud`, `nonce`, `iat`, `exp` and `jti` bind it to one agent, one connection, now. */
export const RequestClaims = z
  .object({
    aud: z.string(),
    nonce: z.string().min(16).max(128),
    iat: z.number().int(),
    exp: z.number().int(),
    jti: z.string().min(16).max(128),
    cmd: Command,
    service: z.string().max(128),
    image: z.string().max(512).optional(),
    to: z.string().max(128).optional(),
    deployId: z.string().max(64).optional(),
    fromSeq: z.number().int().nonnegative().optional(),
    ci: CiMetadata.optional(),
  })
  .strict();
export type RequestClaims = z.infer<typeof RequestClaims>;

export const Hello = z.object({
  type: z.literal("hello"),
  agentId: z.string().max(256),
  protocol: z.number().int(),
  nonce: z.string(),
});

export const RequestMessage = z
  .object({
    type: z.literal("request"),
    token: z.string().max(16_384),
    /** A CI ID token (OIDC) that stands in for a trusted key; `token` is then signed by a one-run key. */
    identity: z.string().max(16_384).optional(),
  })
  .strict();
export type RequestMessage = z.infer<typeof RequestMessage>;

/**
 * Sent by the client on the connection that started (or attached to) a deploy: undo it. The connection is the
 * one its signed request opened, so only the deploy's own requester can cancel it.
 */
export const CancelMessage = z.object({ type: z.literal("cancel") }).strict();
export type CancelMessage = z.infer<typeof CancelMessage>;

export const Accepted = z.object({
  type: z.literal("accepted"),
  deployId: z.string().regex(DEPLOY_ID),
  command: Command,
  service: z.string(),
});

export const EventMessage = z.object({
  type: z.literal("event"),
  deployId: z.string().regex(DEPLOY_ID),
  event: DeployEvent,
});

export const ResultMessage = z.object({ type: z.literal("result"), result: DeployResult });

export const ReleaseSummary = z.object({
  id: z.string().regex(RELEASE_ID),
  kind: z.string(),
  status: z.string(),
  image: z.string(),
  digest: z.string().regex(IMAGE_DIGEST).optional(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  by: z.record(z.string(), z.string()),
  durationMs: z.number().optional(),
  error: z.string().optional(),
});
export type ReleaseSummary = z.infer<typeof ReleaseSummary>;

export const StatusMessage = z.object({
  type: z.literal("status"),
  service: z.string(),
  live: z.object({ colour: z.string(), release: z.string().regex(RELEASE_ID) }).nullable(),
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

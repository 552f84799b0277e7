/** Limits both sides agree on. Named so docs, tests and code cite the same numbers. */
export const PROTOCOL_VERSION = 1;

/** Largest WebSocket frame either side accepts: a signed request is ~1 KiB, an event at most ~9 KiB. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** A connection must finish its TLS handshake and HTTP upgrade (headers included) within this. */
export const UPGRADE_DEADLINE_MS = 5_000;
/** Connections still in their handshake or upgrade, at most; past it the oldest is closed for the newest. */
export const MAX_UPGRADING_CONNECTIONS = 128;
/** Open connections of every kind, at most (the kernel refuses more). */
export const MAX_CONNECTIONS = 1_024;
/** A connection that has not sent a valid request this long after hello is closed. */
export const REQUEST_DEADLINE_MS = 5_000;
/** Longest lifetime (exp − iat) the agent accepts for a request. */
export const MAX_TOKEN_LIFETIME_S = 300;
/** Lifetime the client gives its requests. */
export const TOKEN_LIFETIME_S = 120;
/** Allowed clock difference between CI runner and server. */
export const CLOCK_SKEW_S = 30;
/** Connections that have not yet authenticated, at most, across all peers. */
export const MAX_PENDING_CONNECTIONS = 64;
/** Connections that have not yet authenticated, at most, from one address. */
export const MAX_PENDING_PER_ADDRESS = 16;
/** Rejected requests from one address per minute before it is refused outright for the rest of the minute. */
export const MAX_FAILURES_PER_ADDRESS_PER_MINUTE = 30;
/** The agent pings every client this often and drops one that did not answer the previous ping. */
export const PING_INTERVAL_MS = 15_000;
/** A client that buffers more than this is dropped; it can re-attach from its last sequence number. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Token type, so no other JWT signed by the same key can be replayed as a greenlight request. */
export const REQUEST_TYPE = "greenlight-request+jwt";
export const SIGNING_ALGORITHM = "Ed25519";

/** A deploy event's message is cut to this many characters (the schema's limit). */
export const MAX_EVENT_MESSAGE_CHARS = 8192;
/** A container's output line longer than this many bytes is cut, with a marker saying how much was cut. */
export const MAX_CONTAINER_LINE_BYTES = 4096;
/** Container lines relayed per deploy: a burst of this many at once, refilled at the rate below. */
export const CONTAINER_LINES_BURST = 2_000;
/** Sustained container lines per second; beyond it lines are counted, not kept, and a summary says how many. */
export const CONTAINER_LINES_PER_SECOND = 200;
/** At most this many container lines are kept for one deploy (in memory, on disk and on the wire). */
export const MAX_CONTAINER_LINES_PER_DEPLOY = 10_000;
/** At most this many bytes of container output are kept for one deploy. */
export const MAX_CONTAINER_BYTES_PER_DEPLOY = 2 * 1024 * 1024;
/** `greenlight logs`: at most this many lines from before now (`--lines`). */
export const MAX_LOG_LINES = 10_000;
/** `greenlight logs`: lines relayed per second after the first `--lines`; beyond it they are counted, not sent. */
export const LOG_LINES_PER_SECOND = 1_000;
/** Deploys of one service that may wait behind the running one; more are refused (DEPLOY_IN_PROGRESS). */
export const MAX_QUEUED_DEPLOYS = 3;

/**
 * One registry of error codes. Codes cross the wire and are what callers match on; messages are for people.
 * Each code maps to the CLI exit code and the WebSocket close code it ends with.
 */
export const EXIT = {
  ok: 0,
  deployFailed: 1,
  usage: 2,
  rejected: 3,
  unreachable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CodeSpec {
  exit: ExitCode;
  close: number;
  /** A failed attempt by whoever sent it: the agent counts it against the sender's address. */
  attempt?: true;
}

const codes = {
  // Usage and configuration: the caller must fix an input.
  USAGE: { exit: EXIT.usage, close: 4400 },
  CONFIG_INVALID: { exit: EXIT.usage, close: 4400 },
  CONFIG_NOT_FOUND: { exit: EXIT.usage, close: 4400 },
  // Verification and policy: nothing was done.
  AUTH_MALFORMED: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_BAD_SIGNATURE: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_UNKNOWN_KEY: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_WRONG_AUDIENCE: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_BAD_NONCE: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_EXPIRED: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_NOT_YET_VALID: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_REPLAYED: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_UNTRUSTED_ISSUER: { exit: EXIT.rejected, close: 4401, attempt: true },
  AUTH_CLAIMS_MISMATCH: { exit: EXIT.rejected, close: 4403, attempt: true },
  AUTH_ISSUER_UNAVAILABLE: { exit: EXIT.rejected, close: 4503 },
  AUTH_TIMEOUT: { exit: EXIT.rejected, close: 4408 },
  AUTH_RATE_LIMITED: { exit: EXIT.rejected, close: 4429 },
  // The client found another agent than the one it was told to expect: nothing was signed for it.
  AGENT_MISMATCH: { exit: EXIT.rejected, close: 4401 },
  POLICY_SERVICE_NOT_ALLOWED: { exit: EXIT.rejected, close: 4403 },
  POLICY_IMAGE_NOT_ALLOWED: { exit: EXIT.rejected, close: 4403 },
  UNKNOWN_SERVICE: { exit: EXIT.rejected, close: 4404 },
  UNKNOWN_COMMAND: { exit: EXIT.rejected, close: 4400 },
  UNKNOWN_DEPLOY: { exit: EXIT.rejected, close: 4404 },
  NOTHING_LIVE: { exit: EXIT.rejected, close: 4404 },
  INVALID_ARGUMENT: { exit: EXIT.rejected, close: 4400 },
  PROTOCOL_ERROR: { exit: EXIT.rejected, close: 4400, attempt: true },
  FRAME_TOO_LARGE: { exit: EXIT.rejected, close: 1009 },
  // Deploy failures: the old release keeps serving.
  DEPLOY_IN_PROGRESS: { exit: EXIT.deployFailed, close: 4409 },
  PULL_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  IMAGE_NOT_FOUND: { exit: EXIT.deployFailed, close: 1000 },
  REGISTRY_UNREACHABLE: { exit: EXIT.deployFailed, close: 1000 },
  REGISTRY_AUTH_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  CONTAINER_START_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  CONTAINER_EXITED: { exit: EXIT.deployFailed, close: 1000 },
  HEALTH_TIMEOUT: { exit: EXIT.deployFailed, close: 1000 },
  NGINX_CONFIG_INVALID: { exit: EXIT.deployFailed, close: 1000 },
  NGINX_RELOAD_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  SWITCH_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  VERIFY_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  RELEASE_COMMAND_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  ROLLOUT_FAILED: { exit: EXIT.deployFailed, close: 1000 },
  NO_RELEASE_TO_ROLL_BACK: { exit: EXIT.deployFailed, close: 1000 },
  DOCKER_UNAVAILABLE: { exit: EXIT.deployFailed, close: 1000 },
  INTERRUPTED: { exit: EXIT.deployFailed, close: 1000 },
  // Its requester cancelled it (Ctrl-C in CI): undone like any failure before the release went live.
  CANCELLED: { exit: EXIT.deployFailed, close: 1000 },
  // Transport.
  AGENT_UNREACHABLE: { exit: EXIT.unreachable, close: 1000 },
  CONNECTION_LOST: { exit: EXIT.unreachable, close: 1000 },
  INTERNAL: { exit: EXIT.deployFailed, close: 1011 },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof codes;

export const errorCodes = Object.keys(codes) as ErrorCode[];

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(codes, value);
}

export function exitCodeFor(code: ErrorCode): ExitCode {
  return codes[code].exit;
}

export function closeCodeFor(code: ErrorCode): number {
  return codes[code].close;
}

/**
 * What kind of failure a code is, from its exit code: the caller's input (usage), refused before anything was
 * done (rejected), a deploy that failed with the old release serving (failed), or no answer (unreachable).
 */
export type ErrorCategory = "usage" | "rejected" | "failed" | "unreachable";

export function categoryOf(code: ErrorCode): ErrorCategory {
  const exit = codes[code].exit;
  if (exit === EXIT.usage) return "usage";
  if (exit === EXIT.rejected) return "rejected";
  if (exit === EXIT.unreachable) return "unreachable";
  return "failed";
}

/** Only an unanswered or lost connection is worth trying again; everything else would fail the same way. */
export function isRetryable(code: ErrorCode): boolean {
  return categoryOf(code) === "unreachable";
}

/** Whether the agent counts this refusal against the sender's address (a wrong key, a bad token, garbage). */
export function countsAsFailedAttempt(code: ErrorCode): boolean {
  return (codes[code] as CodeSpec).attempt === true;
}

export class GreenlightError extends Error {
  override readonly name = "GreenlightError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

/** Wraps anything thrown into a GreenlightError, keeping the original as the cause. */
export function asGreenlightError(error: unknown, fallback: ErrorCode = "INTERNAL"): GreenlightError {
  if (error instanceof GreenlightError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GreenlightError(fallback, message, undefined, { cause: error });
}

import Docker from "dockerode";
import { GreenlightError } from "../../shared/errors.js";
import type { Readable, Writable } from "node:stream";

/** The parts of docker-modem we use; its own typings are `any`. */
export interface Modem {
  followProgress(
    stream: Readable,
    onFinished: (error: Error | null, output: PullProgress[]) => void,
    onProgress?: (event: PullProgress) => void,
  ): void;
  demuxStream(stream: Readable, stdout: Writable, stderr: Writable): void;
  dial(
    options: {
      path: string;
      method: string;
      isStream: boolean;
      statusCodes: Record<number, boolean | string>;
      options: Record<string, unknown>;
    },
    callback: (error: unknown, data: unknown) => void,
  ): void;
}

export interface PullProgress {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

export function connectDocker(socketPath: string): Docker {
  return new Docker({ socketPath });
}

export function modemOf(docker: Docker): Modem {
  return docker.modem as Modem;
}

/** Docker's API answers errors as `{ statusCode, json: { message } }`; this extracts the message a person can read. */
export function dockerMessage(error: unknown): string {
  const candidate = error as { json?: { message?: string }; message?: string } | undefined;
  return candidate?.json?.message ?? candidate?.message ?? String(error);
}

export function dockerStatus(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

/**
 * The engine's socket did not answer (no dockerd, no socket, or no permission to it): one typed error that says
 * what to check, instead of whichever step first tripped over it with a bare ECONNREFUSED.
 */
export function dockerUnavailable(error: unknown, socketPath: string): GreenlightError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== "ECONNREFUSED" && code !== "ENOENT" && code !== "EACCES") return undefined;
  return new GreenlightError(
    "DOCKER_UNAVAILABLE",
    `the Docker engine at ${socketPath} does not answer (${code}): is dockerd running, and is the agent's user in the docker group?`,
  );
}

import Docker from "dockerode";
import type { Readable, Writable } from "node:stream";

/** The parts of docker-modem we use; its own typings are `any`. */
export interface Modem {
  followProgress(
    stream: Readable,
    onFinished: (error: Error | null, output: PullProgress[]) => void,
    onProgress?: (event: PullProgress) => void,
  ): void;
  demuxStream(stream: Readable, stdout: Writable, stderr: Writable): void;
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

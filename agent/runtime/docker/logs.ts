import type Docker from "dockerode";
import { PassThrough, type Readable } from "node:stream";
import { MAX_CONTAINER_LINE_BYTES } from "../../../shared/limits.js";
import { frames } from "../../docker-api/stream-frames.js";
import { dockerStatus, modemOf } from "../../docker-api/client.js";
import { LineSplitter } from "./line-splitter.js";
import type { OutputLine, OutputReading, OutputRequest } from "../../engine/ports.js";

function splitInto(stream: Readable, onLine: (line: Buffer, cutBytes: number) => void): void {
  const splitter = new LineSplitter(MAX_CONTAINER_LINE_BYTES, onLine);
  stream.on("data", (chunk: Buffer) => splitter.push(chunk));
  stream.on("end", () => splitter.end());
}

/**
 * A container's stdout and stderr line by line, as asked (tail, since, follow), until it ends or `stop()`;
 * memory held is bounded per stream whatever the container prints.
 */
export async function readLogs(
  docker: Docker,
  idOrName: string,
  request: OutputRequest,
  onLine: OutputLine,
  /** A container's, or a Swarm service's (all of its tasks'): Docker frames both the same way. */
  resource: "containers" | "services" = "containers",
): Promise<OutputReading> {
  // Always as a stream (dockerode buffers the whole answer unless it follows): a container's past output may
  // be any size, and is read line by line like the rest.
  const raw = await new Promise<Readable>((resolve, reject) => {
    modemOf(docker).dial(
      {
        path: `/${resource}/${encodeURIComponent(idOrName)}/logs?`,
        method: "GET",
        isStream: true,
        statusCodes: { 200: true, 404: "no such container", 500: "server error" },
        options: {
          follow: request.follow,
          stdout: true,
          stderr: true,
          ...(request.tail !== undefined ? { tail: request.tail } : {}),
          ...(request.sinceS !== undefined ? { since: Math.floor(Date.now() / 1000) - request.sinceS } : {}),
        },
      },
      (error, data) => (error ? reject(error as Error) : resolve(data as Readable)),
    );
  });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  modemOf(docker).demuxStream(raw, stdout, stderr);
  splitInto(stdout, (line, cut) => onLine(line, cut, "stdout"));
  splitInto(stderr, (line, cut) => onLine(line, cut, "stderr"));
  const ended = new Promise<void>((resolve) => {
    const end = () => {
      stdout.end();
      stderr.end();
      resolve();
    };
    raw.on("end", end);
    raw.on("close", end);
  });
  raw.on("error", () => undefined);
  return { ended, stop: () => raw.destroy() };
}

/** Follows a container's output from now on, until `stop()`: the deploy's view of a starting colour. */
export async function followLogs(docker: Docker, id: string, onLine: OutputLine): Promise<() => void> {
  const reading = await readLogs(docker, id, { follow: true }, onLine);
  return reading.stop;
}

/** The last `lines` lines a container printed, for a failure report; none when the container is gone. */
export async function tailLogs(
  docker: Docker,
  idOrName: string,
  lines: number,
  onLine: OutputLine,
): Promise<void> {
  let raw: Buffer;
  try {
    raw = (await docker
      .getContainer(idOrName)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
  } catch (error) {
    if (dockerStatus(error) === 404) return;
    throw error;
  }
  const splitters = {
    stdout: new LineSplitter(MAX_CONTAINER_LINE_BYTES, (line, cut) => onLine(line, cut, "stdout")),
    stderr: new LineSplitter(MAX_CONTAINER_LINE_BYTES, (line, cut) => onLine(line, cut, "stderr")),
  };
  for (const frame of frames(raw)) splitters[frame.stream].push(frame.payload);
  splitters.stdout.end();
  splitters.stderr.end();
}

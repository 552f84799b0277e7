import type Docker from "dockerode";
import { PassThrough, type Readable } from "node:stream";
import { MAX_CONTAINER_LINE_BYTES } from "../../../shared/limits.js";
import { frames } from "../../docker-api/stream-frames.js";
import { dockerStatus, modemOf } from "../../docker-api/client.js";
import { LineSplitter } from "./line-splitter.js";
import type { OutputLine } from "../../engine/ports.js";

function splitInto(stream: Readable, onLine: (line: Buffer, cutBytes: number) => void): void {
  const splitter = new LineSplitter(MAX_CONTAINER_LINE_BYTES, onLine);
  stream.on("data", (chunk: Buffer) => splitter.push(chunk));
  stream.on("end", () => splitter.end());
}

/** Follows a container's stdout and stderr line by line until `stop()`; memory held is bounded per stream. */
export async function followLogs(docker: Docker, id: string, onLine: OutputLine): Promise<() => void> {
  const raw = (await docker.getContainer(id).logs({
    follow: true,
    stdout: true,
    stderr: true,
  })) as unknown as Readable;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  modemOf(docker).demuxStream(raw, stdout, stderr);
  splitInto(stdout, (line, cut) => onLine(line, cut, "stdout"));
  splitInto(stderr, (line, cut) => onLine(line, cut, "stderr"));
  raw.on("end", () => {
    stdout.end();
    stderr.end();
  });
  raw.on("error", () => undefined);
  return () => raw.destroy();
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

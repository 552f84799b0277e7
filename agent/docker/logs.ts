import type Docker from "dockerode";
import { PassThrough, type Readable } from "node:stream";
import { demultiplex } from "../stream-frames.js";
import { dockerStatus, modemOf } from "./client.js";

function splitLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let index: number;
    while ((index = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, index).replace(/\r$/, ""));
      pending = pending.slice(index + 1);
    }
    if (pending.length > 4096) {
      onLine(pending);
      pending = "";
    }
  });
  stream.on("end", () => {
    if (pending) onLine(pending);
  });
}

/** Follows a container's stdout and stderr line by line until `stop()`. */
export async function followLogs(
  docker: Docker,
  id: string,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
): Promise<() => void> {
  const raw = (await docker.getContainer(id).logs({
    follow: true,
    stdout: true,
    stderr: true,
  })) as unknown as Readable;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  modemOf(docker).demuxStream(raw, stdout, stderr);
  splitLines(stdout, (line) => onLine(line, "stdout"));
  splitLines(stderr, (line) => onLine(line, "stderr"));
  raw.on("end", () => {
    stdout.end();
    stderr.end();
  });
  raw.on("error", () => undefined);
  return () => raw.destroy();
}

/** The last `lines` lines a container printed, for a failure report; empty when the container is gone. */
export async function tailLogs(docker: Docker, idOrName: string, lines: number): Promise<string[]> {
  try {
    const raw = (await docker
      .getContainer(idOrName)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demultiplex(raw)
      .split("\n")
      .filter((line) => line.length > 0);
  } catch (error) {
    if (dockerStatus(error) === 404) return [];
    throw error;
  }
}

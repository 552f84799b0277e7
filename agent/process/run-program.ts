import { execFile } from "node:child_process";

export interface ProgramResult {
  /** The exit status; 127 when the program could not be started, 124 when it was killed at its deadline. */
  code: number;
  stdout: string;
  /** stdout and stderr together, trimmed, or why it did not run: what an error message quotes. */
  output: string;
  /** The program is not installed (or not on PATH). */
  missing: boolean;
}

export interface ProgramOptions {
  timeoutMs: number;
  /** Written to its stdin, then closed. */
  input?: string;
  /** Output kept beyond this is an error (a listing that large is not one to trust). Default 1 MiB. */
  maxBytes?: number;
}

/**
 * Runs a program without a shell and never rejects: every adapter (iptables, conntrack, nft, nginx, systemctl)
 * reads the same result shape and decides itself what a failure means. Arguments are passed as a vector, so
 * nothing a request carries can become a shell word.
 */
export function runProgram(
  file: string,
  args: readonly string[],
  options: ProgramOptions,
): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs, maxBuffer: options.maxBytes ?? 1024 * 1024 },
      (error, stdout, stderr) => {
        const text = `${stdout}${stderr}`.trim();
        if (!error) return resolve({ code: 0, stdout, output: text, missing: false });
        const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
        const timedOut = error.killed === true && error.signal !== null && typeof error.code !== "number";
        const code = typeof error.code === "number" ? error.code : timedOut ? 124 : 127;
        const why = timedOut ? `${file} did not finish within ${Math.round(options.timeoutMs / 1000)}s` : "";
        resolve({ code, stdout, output: text || why || error.message, missing });
      },
    );
    if (options.input !== undefined) {
      // A program that exits before reading its input must not take the agent down with an EPIPE.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input);
    } else {
      child.stdin?.end();
    }
  });
}

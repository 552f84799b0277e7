import { execFile } from "node:child_process";

/** The Docker engine's own client (Debian's docker.io), which matches the engine's API version. */
export const DOCKER_CLI = process.env.DOCKER_CLI ?? "/usr/bin/docker";

export function run(
  file: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export function docker(...args: string[]): Promise<string> {
  return run(DOCKER_CLI, args);
}

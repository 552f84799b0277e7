import { readFile } from "node:fs/promises";
import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { runProgram, type ProgramResult } from "../../process/run-program.js";
import { GreenlightError } from "../../../shared/errors.js";
import type { NginxConfig } from "../../config/schema.js";
import { demultiplex } from "../../docker-api/stream-frames.js";
import { generationReplaced, listWorkers } from "./workers.js";

/** What the engine needs of nginx, wherever it runs. */
export interface NginxController {
  /** Validates the config nginx would load; throws NGINX_CONFIG_INVALID with nginx's own words. */
  test(): Promise<void>;
  /** Reloads and resolves once the new worker generation serves and the old accepts nothing new. */
  reload(): Promise<{ confirmMs: number }>;
  /** True when the upstream file must be written in place (a single-file bind mount into the container). */
  writesInPlace(path: string): Promise<boolean>;
}

function run(command: string[], timeoutMs: number): Promise<ProgramResult> {
  const [file, ...args] = command;
  return runProgram(file ?? "nginx", args, { timeoutMs });
}

async function confirmGeneration(
  masterPid: () => Promise<number>,
  signal: () => Promise<void>,
  timeoutMs: number,
) {
  const pid = await masterPid();
  const before = (await listWorkers(pid)).filter((w) => !w.shuttingDown).map((w) => w.pid);
  const started = Date.now();
  await signal();
  for (;;) {
    const now = await listWorkers(await masterPid());
    if (generationReplaced(before, now)) return { confirmMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      throw new GreenlightError(
        "NGINX_RELOAD_FAILED",
        `nginx did not start a new worker generation within ${Math.round(timeoutMs / 1000)}s of the reload; check its error log`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export class HostNginx implements NginxController {
  constructor(private readonly config: NginxConfig) {}

  async test(): Promise<void> {
    const result = await run(this.config.test, 30_000);
    if (result.code !== 0) {
      throw new GreenlightError("NGINX_CONFIG_INVALID", `nginx rejected the new config: ${result.output}`);
    }
  }

  async reload(): Promise<{ confirmMs: number }> {
    return confirmGeneration(
      () => this.masterPid(),
      async () => {
        const result = await run(this.config.reload, 30_000);
        if (result.code !== 0) {
          throw new GreenlightError("NGINX_RELOAD_FAILED", `nginx reload failed: ${result.output}`);
        }
      },
      this.config.confirm_timeout,
    );
  }

  async writesInPlace(): Promise<boolean> {
    return false;
  }

  private async masterPid(): Promise<number> {
    try {
      const pid = Number((await readFile(this.config.pid_file, "utf8")).trim());
      if (Number.isInteger(pid) && pid > 0) return pid;
    } catch {
      // Reported below with the path that was read.
    }
    throw new GreenlightError(
      "NGINX_RELOAD_FAILED",
      `cannot read nginx's master pid from ${this.config.pid_file} (set nginx.pid_file); is nginx running?`,
    );
  }
}

/** nginx in a container: tested with `docker exec … nginx -t`, reloaded with SIGHUP through the Docker API. */
export class ContainerNginx implements NginxController {
  constructor(
    private readonly docker: Docker,
    private readonly containerName: string,
    private readonly config: NginxConfig,
  ) {}

  async test(): Promise<void> {
    const container = this.docker.getContainer(this.containerName);
    const exec = await container.exec({ Cmd: ["nginx", "-t"], AttachStdout: true, AttachStderr: true });
    const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    const info = await exec.inspect();
    if (info.ExitCode !== 0) {
      const output = demultiplex(Buffer.concat(chunks));
      throw new GreenlightError("NGINX_CONFIG_INVALID", `nginx rejected the new config: ${output.trim()}`);
    }
  }

  async reload(): Promise<{ confirmMs: number }> {
    const container = this.docker.getContainer(this.containerName);
    return confirmGeneration(
      async () => (await container.inspect()).State.Pid,
      async () => {
        await container.kill({ signal: "SIGHUP" });
      },
      this.config.confirm_timeout,
    );
  }

  async writesInPlace(path: string): Promise<boolean> {
    const info = await this.docker.getContainer(this.containerName).inspect();
    return (info.Mounts ?? []).some((m) => m.Type === "bind" && m.Source === path);
  }
}

import bcrypt from "bcryptjs";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./ports.js";

export interface Registry {
  /** `127.0.0.1:PORT`: Docker trusts plain HTTP on loopback registries. */
  host: string;
  stop(): Promise<void>;
  /** Simulates an outage: stops the process, keeps the storage. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * A private Distribution registry (Debian's docker-registry) on a free loopback port; with `login`, one that
 * requires it (htpasswd, bcrypt as the registry wants).
 */
export async function startRegistry(login?: { username: string; password: string }): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  let auth = "";
  if (login) {
    await writeFile(join(dir, "htpasswd"), `${login.username}:${await bcrypt.hash(login.password, 8)}\n`);
    auth = `auth: { htpasswd: { realm: greenlight-test, path: ${dir}/htpasswd } }\n`;
  }
  await writeFile(
    config,
    `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }\nhttp: { addr: 127.0.0.1:${port} }\n${auth}`,
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
    child.on("error", () => undefined);
    await waitFor("the registry", async () =>
      [200, 401].includes((await fetch(`http://127.0.0.1:${port}/v2/`)).status) ? true : undefined,
    );
  };
  const halt = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  await start();
  return {
    host: `127.0.0.1:${port}`,
    pause: halt,
    resume: start,
    stop: async () => {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { GreenlightError, asGreenlightError } from "../../shared/errors.js";

export interface LockOwner {
  pid: number;
  deployId: string;
  since: string;
}

export interface ServiceLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * One deploy per service at a time, across processes (the daemon and `greenlight-agent deploy` share a state
 * dir). A lock whose owner process is gone was left by a crash and is taken over.
 */
export async function acquireServiceLock(
  stateDir: string,
  service: string,
  deployId: string,
  options: { timeoutMs: number; signal?: AbortSignal; onWait?: (owner: LockOwner) => void },
): Promise<ServiceLock> {
  const dir = join(stateDir, "locks");
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const file = join(dir, `${service}.lock`);
  const deadline = Date.now() + options.timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(file, "wx", 0o640);
      const owner: LockOwner = { pid: process.pid, deployId, since: new Date().toISOString() };
      await handle.writeFile(JSON.stringify(owner));
      await handle.close();
      return {
        release: async () => {
          const current = await readOwner(file);
          if (current?.deployId === deployId) await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await readOwner(file);
    if (owner && !isAlive(owner.pid)) {
      await rm(file, { force: true });
      continue;
    }
    if (owner && !announced) {
      options.onWait?.(owner);
      announced = true;
    }
    if (options.signal?.aborted) throw asGreenlightError(options.signal.reason, "CANCELLED");
    if (Date.now() > deadline) {
      throw new GreenlightError(
        "DEPLOY_IN_PROGRESS",
        `another deploy of ${service} (${owner?.deployId ?? "unknown"}) still holds the lock after ${Math.round(options.timeoutMs / 1000)}s`,
        { holder: owner?.deployId ?? null },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

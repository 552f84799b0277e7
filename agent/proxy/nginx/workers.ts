import { readFile, readdir } from "node:fs/promises";

export interface WorkerProcess {
  pid: number;
  shuttingDown: boolean;
}

async function childPids(masterPid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${masterPid}/task/${masterPid}/children`, "utf8");
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process for its parent.
    const pids: number[] = [];
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = await readFile(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid === masterPid) pids.push(Number(entry));
      } catch {
        // The process ended while we looked.
      }
    }
    return pids;
  }
}

/** nginx's worker processes under `masterPid`, each with whether it is in graceful shutdown. */
export async function listWorkers(masterPid: number): Promise<WorkerProcess[]> {
  const workers: WorkerProcess[] = [];
  for (const pid of await childPids(masterPid)) {
    let title: string;
    try {
      title = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (!title.includes("worker process")) continue;
    workers.push({ pid, shuttingDown: title.includes("shutting down") });
  }
  return workers;
}

/**
 * True once the reload took effect: every worker of the old generation is gone or shutting down (it accepts
 * no new connection), and a worker of the new generation is up. `nginx -s reload` returns before this.
 */
export function generationReplaced(before: number[], now: WorkerProcess[]): boolean {
  const old = new Set(before);
  const oldStillServing = now.some((w) => old.has(w.pid) && !w.shuttingDown);
  const fresh = now.some((w) => !old.has(w.pid) && !w.shuttingDown);
  return !oldStillServing && fresh;
}

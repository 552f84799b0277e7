import { readFile } from "node:fs/promises";

// /proc/net/tcp state column: 01 ESTABLISHED, 03 SYN_RECV. Requests in flight hold one of these on the server side.
const OPEN_STATES = new Set(["01", "03"]);

export function countInTable(table: string, port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    if (local?.endsWith(`:${portHex}`) && state && OPEN_STATES.has(state)) count += 1;
  }
  return count;
}

/**
 * Open connections to `port` inside the network namespace of process `pid` (a container's init): the server
 * side of the old colour, which stays true whatever rewrote addresses on the way (NAT, docker-proxy).
 */
export async function countOpenConnections(pid: number, port: number): Promise<number> {
  // Both tables, read at once: each read walks the namespace's sockets, TIME_WAIT ones included.
  const counts = await Promise.all(
    ["tcp", "tcp6"].map(async (family) => {
      try {
        return countInTable(await readFile(`/proc/${pid}/net/${family}`, "utf8"), port);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
        throw error;
      }
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

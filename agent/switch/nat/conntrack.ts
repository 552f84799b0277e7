import { runProgram } from "../../process/run-program.js";

/** One tracked flow from the stable address to a colour, as `conntrack -L` prints it. */
export interface Flow {
  state: string;
  /** The original direction's source (nginx's side): with the stable address, the flow's identity. */
  source: string;
  sourcePort: string;
}

/**
 * States in which a new connection that reuses the flow's source port joins the flow, and so its colour, rather
 * than replacing it. TIME_WAIT and CLOSE are left out on purpose: conntrack replaces such a flow when its port is
 * reused, and `conntrack -D` deletes by tuple, so deleting one could hit the new connection that replaced it
 * between the listing and the delete, leaving that connection without its address translation (its answer is
 * then reset by the host, and nginx waits for it until its read timeout).
 */
const STALLED = new Set([
  "NONE",
  "SYN_SENT",
  "SYN_SENT2",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
]);

export function isStalled(flow: Flow): boolean {
  return STALLED.has(flow.state);
}

export function parseFlows(listing: string): Flow[] {
  const flows: Flow[] = [];
  for (const line of listing.split("\n")) {
    const match = /^tcp\s+\d+\s+\d+\s+([A-Z_0-9]+)\s+src=(\S+)\s+dst=\S+\s+sport=(\d+)/.exec(line);
    if (match?.[1] && match[2] && match[3])
      flows.push({ state: match[1], source: match[2], sourcePort: match[3] });
  }
  return flows;
}

async function conntrack(binary: string, args: string[]): Promise<string | undefined> {
  const result = await runProgram(binary, args, { timeoutMs: 10_000, maxBytes: 64 * 1024 * 1024 });
  return result.code === 0 ? result.stdout : undefined;
}

/**
 * The flows that conntrack holds from the stable address to `address`; undefined when conntrack cannot be
 * asked (not installed, no permission), which callers treat as "unknown", never as "none".
 */
export async function flowsTo(binary: string, stable: string, address: string): Promise<Flow[] | undefined> {
  const [stableIp, stablePort] = stable.split(":");
  const [ip, port] = address.split(":");
  if (!stableIp || !stablePort || !ip || !port) return [];
  const listing = await conntrack(binary, [
    "-L",
    "-p",
    "tcp",
    "--orig-dst",
    stableIp,
    "--orig-port-dst",
    stablePort,
    "--reply-src",
    ip,
    "--reply-port-src",
    port,
  ]);
  return listing === undefined ? undefined : parseFlows(listing);
}

/** Deletes one flow by its full original tuple: exact, no listing involved. */
export async function deleteFlow(binary: string, stable: string, flow: Flow): Promise<void> {
  const [stableIp, stablePort] = stable.split(":");
  if (!stableIp || !stablePort) return;
  await conntrack(binary, [
    "-D",
    "-p",
    "tcp",
    "--orig-src",
    flow.source,
    "--orig-dst",
    stableIp,
    "--sport",
    flow.sourcePort,
    "--dport",
    stablePort,
  ]);
}

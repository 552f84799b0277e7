import { runProgram, type ProgramResult } from "../../process/run-program.js";

const TABLE = "greenlight";
const POLICY = "closed-at-once";

function nft(binary: string, args: string[], script?: string): Promise<ProgramResult> {
  return runProgram(binary, args, { timeoutMs: 15_000, ...(script !== undefined ? { input: script } : {}) });
}

/**
 * Makes conntrack forget a flow to the stable address the moment it closes (TIME_WAIT and CLOSE last 0 s
 * instead of 120 s and 10 s), through an nftables timeout policy set on the flow when it starts.
 *
 * Why: a finished flow that lingers keeps its translation to the colour that served it. A new connection that
 * reuses its source port replaces it, and Docker, when it stops the old colour, deletes every flow of that
 * colour's address by listing them and then deleting each by its original tuple; a replacement created in
 * between has the same tuple (and can have the same conntrack id: a hash of the object's address, which the
 * slab hands straight back, and of the original tuple), so Docker deletes the new connection's translation,
 * and its answer never reaches nginx (a read timeout, 60 s later). With nothing left after close there is
 * nothing to replace, and nothing of the old colour for Docker to race.
 *
 * Returns false, with nft's words, when the policy cannot be set (nft missing, no permission, a kernel
 * without conntrack timeout policies): NAT mode still works, with that rare failure left open.
 */
export async function forgetClosedFlows(
  binary: string,
  stable: string,
  tag: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const [ip, port] = stable.split(":");
  if (!ip || !port) return { ok: false, reason: `bad stable address ${stable}` };
  // Matched on conntrack's original destination: by this hook the DNAT rule has already rewritten the packet's.
  const wanted = `meta l4proto tcp ct original ip daddr ${ip} ct original proto-dst ${port} ct timeout set "${POLICY}" comment "${tag}"`;
  // Checked on every switch, one listing when all is in place: a firewall reload (`nft flush ruleset`) drops it.
  const before = await nft(binary, ["-a", "list", "chain", "ip", TABLE, "output"]);
  if (before.code === 0 && before.output.split("\n").some((line) => line.includes(wanted)))
    return { ok: true };
  // `add` is idempotent for a table, a timeout object and a chain.
  const setup = await nft(
    binary,
    ["-f", "-"],
    [
      `add table ip ${TABLE}`,
      `add ct timeout ip ${TABLE} ${POLICY} { protocol tcp; l3proto ip; policy = { time_wait: 0, close: 0 }; }`,
      `add chain ip ${TABLE} output { type filter hook output priority filter; policy accept; }`,
      "",
    ].join("\n"),
  );
  if (setup.code !== 0) return { ok: false, reason: setup.output };
  // The service's stable address moved (another network): its old rule goes.
  await removeClosedFlowsRule(binary, tag);
  const added = await nft(binary, ["-f", "-"], `add rule ip ${TABLE} output ${wanted}\n`);
  return added.code === 0 ? { ok: true } : { ok: false, reason: added.output };
}

/** Removes the service's rule (remove-service, and tests that leave the host as they found it). */
export async function removeClosedFlowsRule(binary: string, tag: string): Promise<void> {
  const listing = await nft(binary, ["-a", "list", "chain", "ip", TABLE, "output"]);
  for (const line of listing.output.split("\n")) {
    const handle = line.includes(`comment "${tag}"`) ? /# handle (\d+)/.exec(line)?.[1] : undefined;
    if (handle) await nft(binary, ["delete", "rule", "ip", TABLE, "output", "handle", handle]);
  }
}

import { runProgram, type ProgramResult } from "../../process/run-program.js";
import { createHash } from "node:crypto";
import { GreenlightError } from "../../../shared/errors.js";

export const PARENT_CHAIN = "GREENLIGHT";

/** A chain per service; iptables caps names at 28 characters, service names may be longer. */
export function serviceChain(service: string): string {
  return `GL-${createHash("sha256").update(service).digest("hex").slice(0, 12)}`;
}

export type IptablesResult = ProgramResult;

export function iptables(
  binary: string,
  args: string[],
  table: "nat" | "filter" = "nat",
): Promise<IptablesResult> {
  // -w: wait for the xtables lock rather than fail while Docker edits its own rules.
  return runProgram(binary, ["-w", "5", "-t", table, ...args], { timeoutMs: 15_000 });
}

export async function iptablesOrThrow(
  binary: string,
  args: string[],
  table: "nat" | "filter" = "nat",
): Promise<string> {
  const result = await iptables(binary, args, table);
  if (result.code !== 0) {
    throw new GreenlightError(
      "SWITCH_FAILED",
      `${binary} ${args.join(" ")} failed: ${result.output} (NAT mode needs root or CAP_NET_ADMIN and iptables)`,
    );
  }
  return result.output;
}

/**
 * Several rule changes, in one or more tables, as one `iptables-restore --noflush` run: with the nft backend one
 * transaction, so no moment sees some of them and not the others. Without the restore binary (an unusual
 * install) they run one by one, in order.
 */
export async function iptablesTransaction(
  binary: string,
  changes: { table: "nat" | "filter"; args: string[] }[],
): Promise<void> {
  const script = ["nat", "filter"]
    .map((table) => changes.filter((change) => change.table === table))
    .filter((group) => group.length > 0)
    .map((group) =>
      [`*${group[0]?.table}`, ...group.map((change) => change.args.join(" ")), "COMMIT"].join("\n"),
    )
    .join("\n");
  const result = await runProgram(`${binary}-restore`, ["-w", "5", "--noflush"], {
    timeoutMs: 15_000,
    input: `${script}\n`,
  });
  if (result.missing) {
    for (const change of changes) await iptablesOrThrow(binary, change.args, change.table);
    return;
  }
  if (result.code !== 0) {
    throw new GreenlightError(
      "SWITCH_FAILED",
      `${binary}-restore failed: ${result.output} (NAT mode needs root or CAP_NET_ADMIN and iptables)`,
    );
  }
}

export interface DnatRule {
  destination: string;
  comment: string;
}

/** Reads the DNAT rules of a service chain from `iptables -S` output, in order (one per replica). */
export function parseDnatRules(listing: string): DnatRule[] {
  const rules: DnatRule[] = [];
  for (const line of listing.split("\n")) {
    const destination = /--to-destination (\S+)/.exec(line)?.[1];
    if (!destination) continue;
    const comment = /--comment "?([^"\s]+)"?/.exec(line)?.[1] ?? "";
    rules.push({ destination, comment });
  }
  return rules;
}

/** The first DNAT rule of a chain: what names the service and colour. */
export function parseDnatRule(listing: string): DnatRule | undefined {
  return parseDnatRules(listing)[0];
}

/**
 * The chain's rules for a colour of `addresses.length` replicas: each new connection goes to one of them with
 * equal chance (rule k takes 1/(n-k) of what reaches it; the last takes the rest), as nginx's round robin
 * would. One replica is one unconditional rule, as before replicas existed.
 */
export function dnatRules(comment: string, addresses: string[]): string[][] {
  return addresses.map((address, index) => {
    const left = addresses.length - index;
    const share =
      left > 1 ? ["-m", "statistic", "--mode", "random", "--probability", (1 / left).toFixed(8)] : [];
    return [
      "-p",
      "tcp",
      ...share,
      "-m",
      "comment",
      "--comment",
      comment,
      "-j",
      "DNAT",
      "--to-destination",
      address,
    ];
  });
}

/**
 * The filter rule that turns away connection attempts to a colour that no longer takes new requests. It matches
 * only flows addressed to the service's stable address (conntrack's original destination), so connections made
 * straight to the address, such as the health check of a later colour that is given the same address, pass.
 */
export function fenceRule(service: string, address: string, stable: string): string[] {
  const [ip, port] = address.split(":");
  const [stableIp, stablePort] = stable.split(":");
  return [
    "-p",
    "tcp",
    "-d",
    `${ip}/32`,
    "-m",
    "conntrack",
    "--ctorigdst",
    stableIp ?? "",
    "--ctorigdstport",
    stablePort ?? "0",
    "-m",
    "tcp",
    "--dport",
    port ?? "0",
    "--tcp-flags",
    "SYN,RST,ACK,FIN",
    "SYN",
    "-m",
    "comment",
    "--comment",
    `greenlight-fence:${service}`,
    "-j",
    "REJECT",
    "--reject-with",
    "tcp-reset",
  ];
}

export interface Fence {
  /** The fenced colour's `ip:port`. */
  address: string;
  /** The stable `ip:port` whose flows it turns away; absent in a fence without the conntrack match. */
  stable?: string;
  /** The rule's arguments, as `iptables -D OUTPUT …` takes them. */
  rule: string[];
}

/** Reads a fence from one `iptables -S OUTPUT` line of `service`, or undefined for any other line. */
export function parseFence(line: string, service: string): Fence | undefined {
  if (!isFenceOf(line, service)) return undefined;
  const address = addressIn(line, "-d", "--dport");
  if (!address) return undefined;
  return { address, stable: addressIn(line, "--ctorigdst", "--ctorigdstport"), rule: ruleArguments(line) };
}

/** `ip:port` from an `iptables -S` line's address and port options, e.g. `-d 172.17.0.1/32 … --dport 17080`. */
export function addressIn(line: string, addressOption: string, portOption: string): string | undefined {
  const ip = new RegExp(`${addressOption} (\\S+?)(?:/32)?\\s`).exec(line)?.[1];
  const port = new RegExp(`${portOption} (\\d+)`).exec(line)?.[1];
  return ip && port ? `${ip}:${port}` : undefined;
}

/** True for a fence line of `service` in `iptables -S` output (which quotes the comment). */
export function isFenceOf(line: string, service: string): boolean {
  return new RegExp(`greenlight-fence:${service}(?:"|\\s|$)`).test(line);
}

/** The arguments of one `iptables -S` rule line, without `-A CHAIN`'s `-A` and with quotes removed. */
export function ruleArguments(line: string): string[] {
  return (
    line
      .replace(/^-A /, "")
      .match(/"[^"]*"|\S+/g)
      ?.map((a) => a.replace(/^"|"$/g, "")) ?? []
  );
}

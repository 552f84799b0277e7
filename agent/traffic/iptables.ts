import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { GreenlightError } from "../../shared/errors.js";

export const PARENT_CHAIN = "GREENLIGHT";

/** A chain per service; iptables caps names at 28 characters, service names may be longer. */
export function serviceChain(service: string): string {
  return `GL-${createHash("sha256").update(service).digest("hex").slice(0, 12)}`;
}

export interface IptablesResult {
  code: number;
  output: string;
}

export function iptables(binary: string, args: string[]): Promise<IptablesResult> {
  return new Promise((resolve) => {
    // -w: wait for the xtables lock rather than fail while Docker edits its own rules.
    execFile(binary, ["-w", "5", "-t", "nat", ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 127) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() || (error?.message ?? "") });
    });
  });
}

export async function iptablesOrThrow(binary: string, args: string[]): Promise<string> {
  const result = await iptables(binary, args);
  if (result.code !== 0) {
    throw new GreenlightError(
      "SWITCH_FAILED",
      `${binary} ${args.join(" ")} failed: ${result.output} (NAT mode needs root or CAP_NET_ADMIN and iptables)`,
    );
  }
  return result.output;
}

export interface DnatRule {
  destination: string;
  comment: string;
}

/** Reads the DNAT rule of a service chain from `iptables -S` output. */
export function parseDnatRule(listing: string): DnatRule | undefined {
  for (const line of listing.split("\n")) {
    const destination = /--to-destination (\S+)/.exec(line)?.[1];
    if (!destination) continue;
    const comment = /--comment "?([^"\s]+)"?/.exec(line)?.[1] ?? "";
    return { destination, comment };
  }
  return undefined;
}

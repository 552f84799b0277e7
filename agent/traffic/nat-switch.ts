import { execFile } from "node:child_process";
import { GreenlightError } from "../../shared/errors.js";
import { renderStableUpstream } from "../nginx/upstream.js";
import {
  PARENT_CHAIN,
  fenceRule,
  iptables,
  iptablesOrThrow,
  isFenceOf,
  parseDnatRule,
  ruleArguments,
  serviceChain,
} from "./iptables.js";
import { applyUpstream, type UpstreamSite } from "./reload-switch.js";
import type { Colour, SwitchLogger, SwitchState, SwitchTarget, TrafficSwitch } from "./traffic-switch.js";
import { readFile } from "node:fs/promises";

export interface NatOptions {
  /** The stable port nginx proxies to, on the gateway address of the service's network. */
  port: number;
  iptables: string;
  conntrack: string;
}

/**
 * Switches below nginx: nginx proxies to `gateway:port` with no upstream keep-alive, and one kernel DNAT rule
 * sends each new connection to the live colour. The rule is replaced in one step (`iptables -R`), never
 * flushed and re-added, so there is no instant without a rule. nginx is not reloaded on a deploy, so the
 * clients' idle keep-alive connections are never closed under them.
 */
export class NatSwitch implements TrafficSwitch {
  readonly mode = "nat";
  private readonly chain: string;

  constructor(
    private readonly site: UpstreamSite,
    private readonly options: NatOptions,
  ) {
    this.chain = serviceChain(site.service);
  }

  async current(): Promise<SwitchState | undefined> {
    const listing = await iptables(this.options.iptables, ["-S", this.chain]);
    if (listing.code !== 0) return undefined;
    const rule = parseDnatRule(listing.output);
    const match = /^greenlight:[^:]+:(blue|green):(\S+)$/.exec(rule?.comment ?? "");
    if (!rule || !match?.[1] || !match[2]) return undefined;
    return { colour: match[1] as Colour, release: match[2], address: rule.destination };
  }

  async switchTo(target: SwitchTarget, log: SwitchLogger): Promise<{ confirmMs: number }> {
    const stable = `${target.gateway}:${this.options.port}`;
    // A fence on the target (a switch back to the colour it was fenced from) would refuse its new connections.
    await this.clearFences();
    const listing = await this.ensureChains(stable);
    const rule = [
      "-p",
      "tcp",
      "-m",
      "comment",
      "--comment",
      `greenlight:${this.site.service}:${target.colour}:${target.release}`,
      "-j",
      "DNAT",
      "--to-destination",
      target.address,
    ];
    const existing = parseDnatRule(listing);
    const switchStarted = Date.now();
    await iptablesOrThrow(
      this.options.iptables,
      existing ? ["-R", this.chain, "1", ...rule] : ["-A", this.chain, ...rule],
    );
    const after = await this.current();
    if (after?.address !== target.address) {
      throw new GreenlightError(
        "SWITCH_FAILED",
        `the NAT rule for ${this.site.service} did not take (reads ${after?.address ?? "none"})`,
      );
    }
    const confirmMs = Date.now() - switchStarted;
    log.debug(`NAT ${stable} → ${target.address} (${target.colour})`);
    if (existing && existing.destination !== target.address) {
      // From here on no new connection belongs to the old colour. One that conntrack still binds to it (a source
      // port reused from one of its finished flows) is reset at once, and nginx retries it on a fresh connection,
      // instead of reaching a colour that the drain may already have found empty.
      await iptablesOrThrow(
        this.options.iptables,
        ["-I", "OUTPUT", "1", ...fenceRule(this.site.service, existing.destination)],
        "filter",
      );
    }
    // nginx itself changes only when the stable address does: the first deploy, or a new network.
    const content = renderStableUpstream(this.site.service, this.site.upstreamName, stable);
    const onDisk = await readFile(this.site.upstreamFile, "utf8").catch(() => "");
    if (onDisk !== content) {
      log.info(`pointing nginx at the stable address ${stable} (one reload, not repeated on later deploys)`);
      try {
        await applyUpstream(this.site, content, log);
      } catch (error) {
        await this.restoreRule(listing);
        throw error;
      }
    }
    return { confirmMs };
  }

  async retire(oldAddress: string): Promise<void> {
    await this.forget(oldAddress);
    await this.clearFences();
  }

  /** Removes this service's fences (left by a finished deploy, or by one interrupted by a crash). */
  async clearFences(): Promise<void> {
    const listing = await iptables(this.options.iptables, ["-S", "OUTPUT"], "filter");
    for (const line of listing.output.split("\n")) {
      if (!isFenceOf(line, this.site.service)) continue;
      await iptables(this.options.iptables, ["-D", ...ruleArguments(line)], "filter");
    }
  }

  async forget(oldAddress: string, states: string[] = []): Promise<void> {
    const [ip, port] = oldAddress.split(":");
    if (!ip || !port) return;
    const filter = ["-D", "-p", "tcp", "--reply-src", ip, "--reply-port-src", port];
    // Finished flows linger in conntrack; a container that later gets the same address must not inherit them.
    const runs = states.length > 0 ? states.map((state) => [...filter, "--state", state]) : [filter];
    await Promise.all(
      runs.map(
        (args) =>
          new Promise<void>((resolve) => {
            execFile(this.options.conntrack, args, { timeout: 5000 }, () => resolve());
          }),
      ),
    );
  }

  private async restoreRule(previousListing: string): Promise<void> {
    const previous = previousListing.split("\n").find((line) => line.includes("--to-destination"));
    if (previous) {
      const [chain, ...rule] = ruleArguments(previous);
      await iptablesOrThrow(this.options.iptables, ["-R", chain ?? this.chain, "1", ...rule]);
    } else {
      await iptables(this.options.iptables, ["-F", this.chain]);
    }
  }

  /**
   * Creates what is missing of OUTPUT → GREENLIGHT → this service's chain, from one listing of the nat table
   * (one iptables call when all is in place), and returns this chain's current rules.
   */
  private async ensureChains(stable: string): Promise<string> {
    const bin = this.options.iptables;
    const [gateway, port] = stable.split(":") as [string, string];
    const table = await iptablesOrThrow(bin, ["-S"]);
    const lines = new Set(table.split("\n"));
    for (const chain of [PARENT_CHAIN, this.chain]) {
      if (!lines.has(`-N ${chain}`)) await iptablesOrThrow(bin, ["-N", chain]);
    }
    if (!lines.has(`-A OUTPUT -j ${PARENT_CHAIN}`))
      await iptablesOrThrow(bin, ["-I", "OUTPUT", "1", "-j", PARENT_CHAIN]);
    const jump = ["-d", `${gateway}/32`, "-p", "tcp", "-m", "tcp", "--dport", port, "-j", this.chain];
    if (!lines.has(`-A ${PARENT_CHAIN} ${jump.join(" ")}`))
      await iptablesOrThrow(bin, ["-A", PARENT_CHAIN, ...jump]);
    return [...lines].filter((line) => line.startsWith(`-A ${this.chain} `)).join("\n");
  }
}

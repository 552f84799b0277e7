import { GreenlightError } from "../../../shared/errors.js";
import { forgetClosedFlows, removeClosedFlowsRule } from "./closed-flows.js";
import { deleteFlow, flowsTo, isStalled } from "./conntrack.js";
import {
  PARENT_CHAIN,
  addressIn,
  fenceRule,
  iptables,
  iptablesOrThrow,
  iptablesTransaction,
  dnatRules,
  parseDnatRule,
  parseDnatRules,
  parseFence,
  ruleArguments,
  serviceChain,
  type Fence,
} from "./iptables.js";
import type { Colour } from "../../../shared/events.js";
import type { Proxy, SwitchLogger, SwitchState, SwitchTarget, TrafficSwitch } from "../../engine/ports.js";

export interface NatOptions {
  /** What the service's chain, rule comments and fences are named after. */
  unit: string;
  /** The stable port nginx proxies to, on the gateway address of the service's network. */
  port: number;
  iptables: string;
  conntrack: string;
  nft: string;
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

  /** What `prepare` did for the next switch, and the chain as it read it. */
  private prepared:
    { addresses: string; stable: string; read: Promise<{ listing: string; fences: Fence[] }> } | undefined;

  constructor(
    private readonly proxy: Proxy,
    private readonly options: NatOptions,
  ) {
    this.chain = serviceChain(options.unit);
  }

  private async readChain(): Promise<string> {
    const listing = await iptables(this.options.iptables, ["-S", this.chain]);
    return listing.code === 0 ? listing.output : "";
  }

  async current(): Promise<SwitchState | undefined> {
    const listing = await iptables(this.options.iptables, ["-S", this.chain]);
    if (listing.code !== 0) return undefined;
    const rules = parseDnatRules(listing.output);
    const match = /^greenlight:[^:]+:(blue|green):(\S+)$/.exec(rules[0]?.comment ?? "");
    if (rules.length === 0 || !match?.[1] || !match[2]) return undefined;
    return {
      colour: match[1] as Colour,
      release: match[2],
      addresses: rules.map((rule) => rule.destination),
    };
  }

  /**
   * What a switch to `target` needs that moves no traffic and touches no flow: the chains and the closed-flow
   * policy in place, the chain read. Run while the new colour starts; the service's lock keeps it true until the
   * switch. The target's fences are lifted by the switch itself, not earlier: until then a flow still bound to
   * that address must keep being turned away.
   */
  async prepare(target: SwitchTarget, log: SwitchLogger): Promise<void> {
    const stable = `${target.gateway}:${this.options.port}`;
    const prepared = (async () => {
      const [listing, fences] = await Promise.all([this.ensureChains(stable), this.fences()]);
      const closed = await forgetClosedFlows(this.options.nft, stable, this.chain);
      if (!closed.ok) {
        log.warn(
          `could not make conntrack forget closed flows to ${stable} at once (${closed.reason}); install nftables: without it a connection that reuses a source port can, rarely, lose its answer while the old colour stops`,
        );
      }
      return { listing, fences };
    })();
    this.prepared = { addresses: target.addresses.join(","), stable, read: prepared };
    await prepared;
  }

  async switchTo(target: SwitchTarget, log: SwitchLogger): Promise<{ confirmMs: number }> {
    const stable = `${target.gateway}:${this.options.port}`;
    let ready = this.prepared;
    if (ready?.addresses !== target.addresses.join(",") || ready.stable !== stable) {
      await this.prepare(target, log);
      ready = this.prepared;
    }
    this.prepared = undefined;
    const { listing, fences } = await (ready?.read ??
      Promise.all([this.readChain(), this.fences()]).then(([chain, listed]) => ({
        listing: chain,
        fences: listed,
      })));
    // A fence on the target (a switch back, or a new colour given a fenced address) would refuse its connections.
    await this.removeFences(fences.filter((fence) => target.addresses.includes(fence.address)));
    const rules = dnatRules(
      `greenlight:${this.options.unit}:${target.colour}:${target.release}`,
      target.addresses,
    );
    const existing = parseDnatRules(listing).map((rule) => rule.destination);
    // From the switch on no new connection belongs to the old colour. One that conntrack still binds to it (a
    // source port reused from one of its finished flows) is reset at once, and nginx retries it on a fresh
    // connection, instead of reaching a colour that the drain may already have found empty, or an address that
    // is gone. The rules and their fences go in as one transaction: no moment has one without the other.
    const fenced = existing.filter((address) => !target.addresses.includes(address));
    const replace =
      existing.length === 1 && rules.length === 1
        ? [{ table: "nat" as const, args: ["-R", this.chain, "1", ...(rules[0] ?? [])] }]
        : [
            ...(existing.length > 0 ? [{ table: "nat" as const, args: ["-F", this.chain] }] : []),
            ...rules.map((rule) => ({ table: "nat" as const, args: ["-A", this.chain, ...rule] })),
          ];
    const switchStarted = Date.now();
    await iptablesTransaction(this.options.iptables, [
      ...replace,
      ...fenced.map((address) => ({
        table: "filter" as const,
        args: ["-I", "OUTPUT", "1", ...fenceRule(this.options.unit, address, stable)],
      })),
    ]);
    const after = (await this.current())?.addresses.join(",") ?? "none";
    if (after !== target.addresses.join(",")) {
      throw new GreenlightError(
        "SWITCH_FAILED",
        `the NAT rules for ${this.options.unit} did not take (they read ${after})`,
      );
    }
    const confirmMs = Date.now() - switchStarted;
    log.debug(`NAT ${stable} → ${target.addresses.join(", ")} (${target.colour})`);
    // The proxy itself changes only when the stable address does: the first deploy, or a new network.
    try {
      if (await this.proxy.routeToStable(stable, log))
        log.info(`pointed the proxy at the stable address ${stable} (not repeated on later deploys)`);
    } catch (error) {
      await this.restoreRule(listing);
      throw error;
    }
    return { confirmMs };
  }

  /**
   * Once the old colour is stopped: forgets its flows that a reused source port would join (nothing can finish
   * them now), and lifts every fence that no tracked flow needs any more. With the closed-flow policy nothing
   * of the old colour lingers, so its fence goes here too; without it, finished flows (TIME_WAIT, 120 s) keep
   * the fence until a later deploy.
   */
  async retire(oldAddress: string): Promise<void> {
    const fences = await this.fences();
    const stable =
      fences.find((fence) => fence.address === oldAddress)?.stable ?? (await this.stableAddress());
    if (stable) {
      const flows = await flowsTo(this.options.conntrack, stable, oldAddress);
      await Promise.all(
        (flows ?? []).filter(isStalled).map((flow) => deleteFlow(this.options.conntrack, stable, flow)),
      );
    }
    await this.tidyFences(fences);
  }

  /**
   * Lifts fences that turn away nothing: those no tracked flow is bound to any more, and fences of an older
   * form that would also refuse connections made straight to the address. A fence on a live colour cannot
   * happen (a switch lifts the target's first); one whose flows cannot be listed stays, harmlessly.
   */
  async tidyFences(listed?: Fence[]): Promise<void> {
    const fences = listed ?? (await this.fences());
    const idle = await Promise.all(
      fences.map(async (fence) => {
        if (!fence.stable) return true;
        return (await flowsTo(this.options.conntrack, fence.stable, fence.address))?.length === 0;
      }),
    );
    await this.removeFences(fences.filter((_, index) => idle[index]));
  }

  /** The jump to the service's chain, its fences, its closed-flow rule, then the chain itself. */
  async remove(): Promise<void> {
    const bin = this.options.iptables;
    const parent = await iptables(bin, ["-S", PARENT_CHAIN]);
    for (const line of parent.output.split("\n").filter((l) => l.endsWith(`-j ${this.chain}`))) {
      await iptablesOrThrow(bin, ["-D", ...ruleArguments(line)]);
    }
    await this.removeFences(await this.fences());
    await removeClosedFlowsRule(this.options.nft, this.chain);
    if ((await iptables(bin, ["-S", this.chain])).code === 0) {
      await iptablesOrThrow(bin, ["-F", this.chain]);
      await iptablesOrThrow(bin, ["-X", this.chain]);
    }
  }

  private async fences(): Promise<Fence[]> {
    const listing = await iptables(this.options.iptables, ["-S", "OUTPUT"], "filter");
    return listing.output
      .split("\n")
      .map((line) => parseFence(line, this.options.unit))
      .filter((fence) => fence !== undefined);
  }

  private async removeFences(fences: Fence[]): Promise<void> {
    for (const fence of fences) await iptables(this.options.iptables, ["-D", ...fence.rule], "filter");
  }

  /** The stable address the service's chain is reached by, read from the parent chain's jump. */
  private async stableAddress(): Promise<string | undefined> {
    const listing = await iptables(this.options.iptables, ["-S", PARENT_CHAIN]);
    const jump = listing.output.split("\n").find((line) => line.endsWith(`-j ${this.chain}`));
    return jump ? addressIn(jump, "-d", "--dport") : undefined;
  }

  private async restoreRule(previousListing: string): Promise<void> {
    const previous = previousListing.split("\n").filter((line) => line.includes("--to-destination"));
    await iptablesTransaction(this.options.iptables, [
      { table: "nat", args: ["-F", this.chain] },
      ...previous.map((line) => ({ table: "nat" as const, args: ["-A", ...ruleArguments(line)] })),
    ]);
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
    const jump = ["-d", `${gateway}/32`, "-p", "tcp", "-m", "tcp", "--dport", port, "-j", this.chain];
    const taken = [...lines]
      .map((line) => new RegExp(`^-A ${PARENT_CHAIN} ${jump.slice(0, -1).join(" ")} (\\S+)$`).exec(line)?.[1])
      .find((chain) => chain !== undefined && chain !== this.chain);
    if (taken) {
      // Two services on one stable address would steal each other's traffic: refuse before anything moves.
      const owner = parseDnatRule([...lines].filter((line) => line.startsWith(`-A ${taken} `)).join("\n"));
      const name = /^greenlight:([^:]+):/.exec(owner?.comment ?? "")?.[1] ?? `the one of chain ${taken}`;
      throw new GreenlightError(
        "SWITCH_FAILED",
        `stable address ${stable} is already taken on this host by service ${name}; give ${this.options.unit} its own switch.port`,
      );
    }
    for (const chain of [PARENT_CHAIN, this.chain]) {
      if (!lines.has(`-N ${chain}`)) await iptablesOrThrow(bin, ["-N", chain]);
    }
    if (!lines.has(`-A OUTPUT -j ${PARENT_CHAIN}`))
      await iptablesOrThrow(bin, ["-I", "OUTPUT", "1", "-j", PARENT_CHAIN]);
    if (!lines.has(`-A ${PARENT_CHAIN} ${jump.join(" ")}`))
      await iptablesOrThrow(bin, ["-A", PARENT_CHAIN, ...jump]);
    return [...lines].filter((line) => line.startsWith(`-A ${this.chain} `)).join("\n");
  }
}

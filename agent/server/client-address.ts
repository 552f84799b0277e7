import { BlockList } from "node:net";
import { ipFamily as family, parseTrustedProxy } from "../config/address-block.js";

/** `::ffff:10.0.0.1` is 10.0.0.1: Node reports IPv4 peers of a dual-stack socket that way. */
function plain(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

/**
 * Who a connection really comes from. Behind a TLS-terminating proxy every peer is the proxy, so its
 * `X-Forwarded-For` is read — but only from peers listed in `trusted_proxies`, walking the header from the
 * right and skipping trusted hops, so the first address no trusted proxy vouches for is the client. Anyone
 * else's header is ignored: a stranger cannot choose the address its limits are counted against.
 */
export class ClientAddresses {
  private readonly trusted = new BlockList();

  constructor(trustedProxies: string[]) {
    for (const entry of trustedProxies) {
      const parsed = parseTrustedProxy(entry);
      if (!parsed) throw new TypeError(`trusted_proxies: "${entry}" is not an address or CIDR block`);
      const kind = family(parsed.ip) ?? "ipv4";
      if (parsed.prefix === undefined) this.trusted.addAddress(parsed.ip, kind);
      else this.trusted.addSubnet(parsed.ip, parsed.prefix, kind);
    }
  }

  isTrusted(ip: string): boolean {
    const address = plain(ip);
    const kind = family(address);
    return kind !== undefined && this.trusted.check(address, kind);
  }

  /** The client's address: the socket's peer, or what trusted proxies say it is. */
  resolve(peer: string, forwardedFor: string | string[] | undefined): string {
    let client = plain(peer);
    if (!this.isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
      .split(",")
      .map((hop) => plain(hop.trim()))
      .slice(-32);
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      const hop = hops[i] ?? "";
      // A malformed hop is where trust ends: the last trusted proxy is the client then.
      if (!family(hop)) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }
}

/**
 * What limits are counted against: an IPv4 address, or an IPv6 address's /64 (one host usually holds a whole
 * /64, so counting single IPv6 addresses would let it rotate past every limit).
 */
export function limitKey(ip: string): string {
  if (family(ip) !== "ipv6") return ip;
  const [head = "", tail] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || "0", 16).toString(16))
    .join(":")}::/64`;
}

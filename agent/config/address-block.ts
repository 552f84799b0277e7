import { isIP } from "node:net";

export function ipFamily(ip: string): "ipv4" | "ipv6" | undefined {
  const version = isIP(ip);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : undefined;
}

/** An address or CIDR block (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`); undefined when it is neither. */
export function parseTrustedProxy(text: string): { ip: string; prefix?: number } | undefined {
  const [ip = "", prefix, extra] = text.trim().split("/");
  const kind = ipFamily(ip);
  if (!kind || extra !== undefined) return undefined;
  if (prefix === undefined) return { ip };
  const bits = Number(prefix);
  if (!/^\d{1,3}$/.test(prefix) || bits > (kind === "ipv4" ? 32 : 128)) return undefined;
  return { ip, prefix: bits };
}

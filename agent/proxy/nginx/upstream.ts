import type { Colour } from "../../../shared/events.js";

export interface UpstreamTarget {
  service: string;
  upstreamName: string;
  colour: Colour;
  release: string;
  /** The live colour's instances; nginx spreads requests over them. */
  addresses: string[];
}

const MARKER = /^# greenlight: service=(\S+) colour=(blue|green) release=(\S+)$/m;

/**
 * The live colour's servers (one per replica), no `keepalive`: nginx opens a connection per request, so after a
 * switch every new request takes the new colour while in-flight ones finish on the old. No server is marked
 * down by passive health checks (max_fails=0): only the live colour is listed, so there is no other to prefer.
 */
export function renderUpstream(target: UpstreamTarget): string {
  return [
    `# greenlight: service=${target.service} colour=${target.colour} release=${target.release}`,
    "# Managed by greenlight-agent; rewritten on every deploy.",
    `upstream ${target.upstreamName} {`,
    ...target.addresses.map((address) => `    server ${address} max_fails=0;`),
    "}",
    "",
  ].join("\n");
}

export function readUpstreamMarker(text: string): { colour: Colour; release: string } | undefined {
  const match = MARKER.exec(text);
  if (!match?.[2] || !match[3]) return undefined;
  return { colour: match[2] as Colour, release: match[3] };
}

export function defaultUpstreamName(service: string): string {
  return `greenlight_${service.replace(/-/g, "_")}`;
}

/**
 * NAT mode: nginx always proxies to one stable address; the kernel rule behind it moves between colours, so
 * nginx is written and reloaded once, never on a deploy.
 */
export function renderStableUpstream(service: string, upstreamName: string, stableAddress: string): string {
  return [
    `# greenlight: service=${service} switch=nat`,
    "# Managed by greenlight-agent; traffic moves between colours below nginx, by a NAT rule.",
    `upstream ${upstreamName} {`,
    // The same address four times: a connect refused by the switch's fence (a connection that conntrack bound
    // to the old colour) is retried on a fresh connection and source port; nothing was sent yet, so this is safe
    // for POSTs too. Refused ports come in runs, hence more than one retry.
    ...Array.from({ length: 4 }, () => `    server ${stableAddress} max_fails=0;`),
    "}",
    "",
  ].join("\n");
}

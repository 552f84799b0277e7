import { readFile } from "node:fs/promises";
import type { NginxController } from "../nginx/controller.js";
import { readUpstreamMarker, renderUpstream } from "../nginx/upstream.js";
import { applyNginxFile } from "../nginx/apply.js";
import type { SwitchLogger, SwitchState, SwitchTarget, TrafficSwitch } from "../engine/ports.js";

export interface UpstreamSite {
  service: string;
  upstreamName: string;
  upstreamFile: string;
  nginx: NginxController;
}

/** Writes the upstream file and reloads nginx onto it (see applyNginxFile). */
export function applyUpstream(
  site: UpstreamSite,
  content: string,
  log: SwitchLogger,
): Promise<{ confirmMs: number }> {
  return applyNginxFile(site.nginx, site.upstreamFile, content, log);
}

/** The simple mode: the upstream names the live colour's address; every switch is an nginx reload. */
export class ReloadSwitch implements TrafficSwitch {
  readonly mode = "reload";

  constructor(private readonly site: UpstreamSite) {}

  async current(): Promise<SwitchState | undefined> {
    let text: string;
    try {
      text = await readFile(this.site.upstreamFile, "utf8");
    } catch {
      return undefined;
    }
    const marker = readUpstreamMarker(text);
    const address = /^\s*server\s+(\S+?)[\s;]/m.exec(text)?.[1];
    return marker && address ? { ...marker, address } : undefined;
  }

  async switchTo(target: SwitchTarget, log: SwitchLogger): Promise<{ confirmMs: number }> {
    const content = renderUpstream({
      service: this.site.service,
      upstreamName: this.site.upstreamName,
      colour: target.colour,
      release: target.release,
      address: target.address,
    });
    return applyUpstream(this.site, content, log);
  }

  async retire(): Promise<void> {}

  async tidyFences(): Promise<void> {}
}

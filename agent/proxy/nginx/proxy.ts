import { readFile } from "node:fs/promises";
import type { ServiceConfig } from "../../config/schema.js";
import type { Proxy, SwitchLogger, SwitchState } from "../../engine/ports.js";
import type { StepLogger } from "../../engine/step-logger.js";
import { exists } from "../../files/exists.js";
import { verifyThroughProxy } from "../verify.js";
import { applyNginxFile } from "./apply.js";
import type { NginxController } from "./controller.js";
import { ensureServerBlock } from "./server-block.js";
import { readUpstreamMarker, renderStableUpstream, renderUpstream } from "./upstream.js";

export interface NginxSite {
  /** The configured service name (its server block). */
  service: string;
  /** What the upstream file's marker names: the service's containers' base name. */
  unit: string;
  upstreamName: string;
  config: ServiceConfig;
}

/**
 * nginx in front of a service: the server block rendered from the config, the upstream file the switches
 * point (reloading nginx and confirming its new workers), and a request through it.
 */
export class NginxProxy implements Proxy {
  readonly verify?: (signal?: AbortSignal) => Promise<string>;
  private readonly upstreamFile: string;

  constructor(
    private readonly nginx: NginxController,
    private readonly site: NginxSite,
  ) {
    this.upstreamFile = site.config.nginx.upstream_file;
    const verify = site.config.verify;
    if (verify) this.verify = (signal) => verifyThroughProxy(verify, signal);
  }

  prepare(log: StepLogger): Promise<void> {
    return ensureServerBlock(
      this.nginx,
      this.site.service,
      this.site.upstreamName,
      this.site.config.nginx.server,
      log,
    );
  }

  hasUpstream(): Promise<boolean> {
    return exists(this.upstreamFile);
  }

  routeTo(target: SwitchState, log: SwitchLogger): Promise<{ confirmMs: number }> {
    const content = renderUpstream({
      service: this.site.unit,
      upstreamName: this.site.upstreamName,
      ...target,
    });
    return applyNginxFile(this.nginx, this.upstreamFile, content, log);
  }

  async routeToStable(address: string, log: SwitchLogger): Promise<boolean> {
    const content = renderStableUpstream(this.site.unit, this.site.upstreamName, address);
    if ((await readFile(this.upstreamFile, "utf8").catch(() => "")) === content) return false;
    await applyNginxFile(this.nginx, this.upstreamFile, content, log);
    return true;
  }

  async routed(): Promise<SwitchState | undefined> {
    const text = await readFile(this.upstreamFile, "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    const marker = readUpstreamMarker(text);
    const address = /^\s*server\s+(\S+?)[\s;]/m.exec(text)?.[1];
    return marker && address ? { ...marker, address } : undefined;
  }
}

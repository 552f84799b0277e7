import { readFile, rename, rm } from "node:fs/promises";
import type { WebService } from "../../config/schema.js";
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
  config: WebService;
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

  /**
   * The generated server block goes, then the upstream file, each only if nginx accepts its config without it
   * (tested, then reloaded); a file nginx still needs (the operator's own site includes the upstream) is put
   * back and named. A file bind-mounted into nginx's container is left, and named.
   */
  async remove(log: SwitchLogger): Promise<void> {
    const server = this.site.config.nginx.server;
    for (const file of [server?.file, this.upstreamFile]) {
      if (!file || !(await exists(file))) continue;
      if (await this.nginx.writesInPlace(file)) {
        log.warn(`left ${file}: it is bind-mounted into nginx's container; remove the mount, then the file`);
        continue;
      }
      await rename(file, `${file}.removed`);
      try {
        await this.nginx.test();
      } catch {
        await rename(`${file}.removed`, file);
        log.warn(
          `left ${file}: nginx's config still needs it (your own site uses it); remove that use, then the file`,
        );
        continue;
      }
      await this.nginx.reload();
      await rm(`${file}.removed`, { force: true });
      log.info(`removed ${file}; nginx reloaded`);
    }
  }

  async routed(): Promise<SwitchState | undefined> {
    const text = await readFile(this.upstreamFile, "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    const marker = readUpstreamMarker(text);
    const addresses = [...text.matchAll(/^\s*server\s+(\S+?)[\s;]/gm)].map((match) => match[1] ?? "");
    return marker && addresses.length > 0 ? { ...marker, addresses } : undefined;
  }
}

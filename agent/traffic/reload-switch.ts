import { readFile } from "node:fs/promises";
import { GreenlightError, asGreenlightError } from "../../shared/errors.js";
import type { NginxController } from "../nginx/controller.js";
import { readUpstreamMarker, renderUpstream } from "../nginx/upstream.js";
import { restoreNginxFile, writeNginxFile } from "../nginx/write-file.js";
import type { SwitchLogger, SwitchState, SwitchTarget, TrafficSwitch } from "./traffic-switch.js";

export interface UpstreamSite {
  service: string;
  upstreamName: string;
  upstreamFile: string;
  nginx: NginxController;
}

/**
 * Writes the upstream file, runs `nginx -t`, reloads, and waits until the new worker generation serves. An
 * invalid config or a failed reload puts the previous file back, so nginx keeps serving what it served.
 */
export async function applyUpstream(
  site: UpstreamSite,
  content: string,
  log: SwitchLogger,
): Promise<{ confirmMs: number }> {
  const path = site.upstreamFile;
  const written = await writeNginxFile(path, content, await site.nginx.writesInPlace(path)).catch(
    (error: unknown) => {
      throw new GreenlightError("SWITCH_FAILED", `cannot write ${path}: ${(error as Error).message}`);
    },
  );
  log.debug(`wrote ${path} (${written.method})`);
  try {
    await site.nginx.test();
  } catch (error) {
    await restoreNginxFile(path, written);
    log.warn(`restored the previous ${path}; nginx was not reloaded and serves the previous release`);
    throw error;
  }
  try {
    return await site.nginx.reload();
  } catch (error) {
    await restoreNginxFile(path, written);
    await site.nginx.reload().catch((again: unknown) => {
      log.error(`reload after restoring ${path} also failed: ${asGreenlightError(again).message}`);
    });
    throw error;
  }
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

  async forget(): Promise<void> {}

  async retire(): Promise<void> {}

  async clearFences(): Promise<void> {}
}

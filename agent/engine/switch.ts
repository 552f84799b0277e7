import { GreenlightError, asGreenlightError } from "../../shared/errors.js";
import { renderUpstream } from "../nginx/upstream.js";
import { restoreNginxFile, writeNginxFile } from "../nginx/write-file.js";
import type { ServiceContext } from "./service.js";
import type { StepLogger } from "./step-logger.js";

export interface SwitchTarget {
  colour: "blue" | "green";
  release: string;
  address: string;
}

/**
 * Points nginx at `target`: write the upstream file, `nginx -t`, reload, and wait until the new worker
 * generation serves. An invalid config or a failed reload puts the previous file back, so nginx keeps
 * serving what it served before.
 */
export async function switchTraffic(
  ctx: ServiceContext,
  target: SwitchTarget,
  log: StepLogger,
): Promise<{ confirmMs: number }> {
  const path = ctx.config.nginx.upstream_file;
  const content = renderUpstream({ service: ctx.name, upstreamName: ctx.upstreamName, ...target });
  const written = await writeNginxFile(path, content, await ctx.nginx.writesInPlace(path)).catch(
    (error: unknown) => {
      throw new GreenlightError("SWITCH_FAILED", `cannot write ${path}: ${(error as Error).message}`);
    },
  );
  log.debug(`wrote ${path} (${written.method}) → ${target.colour} ${target.address}`);
  try {
    await ctx.nginx.test();
  } catch (error) {
    await restoreNginxFile(path, written);
    log.warn(`restored the previous ${path}; nginx was not reloaded and serves the previous release`);
    throw error;
  }
  try {
    return await ctx.nginx.reload();
  } catch (error) {
    await restoreNginxFile(path, written);
    await ctx.nginx.reload().catch((again: unknown) => {
      log.error(`reload after restoring ${path} also failed: ${asGreenlightError(again).message}`);
    });
    throw error;
  }
}

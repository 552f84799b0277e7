import { GreenlightError, asGreenlightError } from "../../../shared/errors.js";
import type { NginxController } from "./controller.js";
import { restoreNginxFile, writeNginxFile } from "./write-file.js";

export interface ApplyLogger {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Writes one file nginx includes, runs `nginx -t`, reloads, and waits until the new worker generation serves.
 * An invalid config or a failed reload puts the previous file back, so nginx keeps serving what it served.
 */
export async function applyNginxFile(
  nginx: NginxController,
  path: string,
  content: string,
  log: ApplyLogger,
): Promise<{ confirmMs: number }> {
  const written = await writeNginxFile(path, content, await nginx.writesInPlace(path)).catch(
    (error: unknown) => {
      throw new GreenlightError("SWITCH_FAILED", `cannot write ${path}: ${(error as Error).message}`);
    },
  );
  log.debug(`wrote ${path} (${written.method})`);
  try {
    await nginx.test();
  } catch (error) {
    await restoreNginxFile(path, written);
    log.warn(`restored the previous ${path}; nginx was not reloaded and serves the previous release`);
    throw error;
  }
  try {
    return await nginx.reload();
  } catch (error) {
    await restoreNginxFile(path, written);
    await nginx.reload().catch((again: unknown) => {
      log.error(`reload after restoring ${path} also failed: ${asGreenlightError(again).message}`);
    });
    throw error;
  }
}

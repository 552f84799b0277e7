import { open, readFile, rm, stat } from "node:fs/promises";
import { writeFileAtomic } from "../../files/atomic-write.js";

export interface WrittenFile {
  /** The content before the write (undefined when the file did not exist), to restore on a failed test. */
  previous: string | undefined;
  method: "rename" | "in-place";
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function writeInPlace(path: string, content: string): Promise<void> {
  // Keeps the inode: a single-file bind mount follows the inode, so a rename would go unseen (or fail with EBUSY).
  const handle = await open(path, "r+");
  try {
    await handle.truncate(0);
    await handle.write(content, 0, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes an nginx file safely. By rename when possible (atomic); in place when the file is bind-mounted into a
 * container (`inPlace`) or when rename is refused with EBUSY, as it is for a file that is itself a mount point.
 */
export async function writeNginxFile(path: string, content: string, inPlace = false): Promise<WrittenFile> {
  const previous = await readIfExists(path);
  if (inPlace && previous !== undefined) {
    await writeInPlace(path, content);
    return { previous, method: "in-place" };
  }
  const mode = previous !== undefined ? (await stat(path)).mode & 0o777 : 0o644;
  try {
    await writeFileAtomic(path, content, mode);
    return { previous, method: "rename" };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === "EBUSY" || code === "EXDEV") && previous !== undefined) {
      await writeInPlace(path, content);
      return { previous, method: "in-place" };
    }
    throw error;
  }
}

/** Puts back what `writeNginxFile` replaced; a file that did not exist before is removed. */
export async function restoreNginxFile(path: string, written: WrittenFile): Promise<void> {
  if (written.previous === undefined) {
    await rm(path, { force: true });
    return;
  }
  await writeNginxFile(path, written.previous, written.method === "in-place");
}

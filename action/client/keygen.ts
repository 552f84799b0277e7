import { chmod, writeFile } from "node:fs/promises";
import { GreenlightError } from "../../shared/errors.js";
import { generateSigningKeys, importPublicKey } from "../../shared/signing.js";

/** Writes PATH (private, PKCS#8 PEM, 0600) and PATH.pub (SPKI PEM); returns the public key and its id. */
export async function writeKeyPair(
  path: string,
  options: { force?: boolean } = {},
): Promise<{ publicPem: string; kid: string }> {
  const { privatePem, publicPem } = await generateSigningKeys();
  // Without --force an existing key is never overwritten: it may be the one every agent trusts.
  const flag = options.force ? "w" : "wx";
  try {
    await writeFile(path, privatePem, { mode: 0o600, flag });
    await chmod(path, 0o600);
    await writeFile(`${path}.pub`, publicPem, { mode: 0o644, flag });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      throw new GreenlightError(
        "USAGE",
        `${(error as NodeJS.ErrnoException).path ?? path} exists; keep it, or replace the pair with --force (agents that trust the old public key will refuse the new one)`,
      );
    throw new GreenlightError("USAGE", `cannot write the key pair at ${path}: ${(error as Error).message}`);
  }
  return { publicPem, kid: (await importPublicKey(publicPem)).kid };
}

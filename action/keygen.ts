import { chmod, writeFile } from "node:fs/promises";
import { generateSigningKeys, importPublicKey } from "../shared/signing.js";

/** Writes PATH (private, PKCS#8 PEM, 0600) and PATH.pub (SPKI PEM); returns the public key and its id. */
export async function writeKeyPair(path: string): Promise<{ publicPem: string; kid: string }> {
  const { privatePem, publicPem } = await generateSigningKeys();
  await writeFile(path, privatePem, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  await writeFile(`${path}.pub`, publicPem, { mode: 0o644, flag: "wx" });
  return { publicPem, kid: (await importPublicKey(publicPem)).kid };
}

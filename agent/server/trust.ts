import { readFile } from "node:fs/promises";
import { GreenlightError } from "../../shared/errors.js";
import { importPublicKey, type PublicKey } from "../../shared/signing.js";
import type { AgentConfig } from "../config-schema.js";

export interface TrustedKey {
  name: string;
  kid: string;
  key: PublicKey;
  /** Services this key may act on; undefined means all. */
  services: string[] | undefined;
}

/** Loads `trust.keys`, indexed by key id (the public key's JWK thumbprint, which clients put in `kid`). */
export async function loadTrustedKeys(config: AgentConfig): Promise<Map<string, TrustedKey>> {
  const keys = new Map<string, TrustedKey>();
  for (const [index, entry] of config.trust.keys.entries()) {
    const where = `trust.keys.${index} (${entry.name})`;
    let pem = entry.public_key;
    if (entry.public_key_file) {
      try {
        pem = await readFile(entry.public_key_file, "utf8");
      } catch (error) {
        throw new GreenlightError(
          "CONFIG_INVALID",
          `${where}: cannot read ${entry.public_key_file}: ${(error as Error).message}`,
        );
      }
    }
    let imported: Awaited<ReturnType<typeof importPublicKey>>;
    try {
      imported = await importPublicKey(pem ?? "");
    } catch {
      throw new GreenlightError(
        "CONFIG_INVALID",
        `${where}: not an Ed25519 public key in SPKI PEM (greenlight keygen writes one)`,
      );
    }
    keys.set(imported.kid, {
      name: entry.name,
      kid: imported.kid,
      key: imported.key,
      services: entry.services,
    });
  }
  return keys;
}

import { readFile } from "node:fs/promises";
import { GreenlightError } from "../../shared/errors.js";
import { importPublicKey, type PublicKey } from "../../shared/signing.js";
import type { AgentConfig } from "../config/schema.js";
import type { IssuerKeys } from "./issuer-keys.js";
import { OidcVerifier } from "./oidc.js";

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
    const twin = keys.get(imported.kid);
    if (twin) {
      throw new GreenlightError(
        "CONFIG_INVALID",
        `${where}: the same public key is already trusted as ${twin.name}; list each key once (one name, one set of services)`,
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

/** Everything a request may be verified against: trusted keys and trusted CI identity providers. */
export interface Trust {
  keys: Map<string, TrustedKey>;
  oidc: OidcVerifier;
}

/** Loads the trust of a config; `issuerKeys` carries the issuers' cached key sets across config reloads. */
export async function loadTrust(config: AgentConfig, issuerKeys?: IssuerKeys): Promise<Trust> {
  return {
    keys: await loadTrustedKeys(config),
    oidc: new OidcVerifier(config.trust.oidc, config.id, issuerKeys),
  };
}

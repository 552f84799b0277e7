import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, type JWK } from "jose";
import { generateRunSigner, runSignerFromJwk, type Signer } from "../../shared/signing.js";

/**
 * The run key for an ID token the job was handed (GitLab's id_tokens). The agent pins a token to the first key
 * that uses it, so every greenlight call of one job must sign with the same key: it is kept beside the job, in
 * a 0600 file named after the token's hash, and never leaves the runner.
 */
export async function runKeyFor(token: string, dir = tmpdir()): Promise<Signer> {
  const name = createHash("sha256").update(token).digest("hex").slice(0, 24);
  const file = join(dir, `greenlight-run-${name}.jwk`);
  const stored = await readFile(file, "utf8").catch(() => undefined);
  if (stored) {
    try {
      return await runSignerFromJwk(JSON.parse(stored) as JWK);
    } catch {
      // An unreadable file is replaced below.
    }
  }
  const signer = await generateRunSigner(true);
  await writeFile(file, JSON.stringify(await exportJWK(signer.key)), { mode: 0o600 });
  return signer;
}

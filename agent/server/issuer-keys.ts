import { createRemoteJWKSet, errors } from "jose";
import { GreenlightError } from "../../shared/errors.js";

type KeySet = ReturnType<typeof createRemoteJWKSet>;

const FETCH_TIMEOUT_MS = 5_000;
/** An unknown `kid` refetches the key set (issuers rotate keys), at most this often. */
const REFETCH_COOLDOWN_MS = 5_000;
const CACHE_MAX_AGE_MS = 10 * 60_000;

/**
 * Each issuer's signing keys, found by OpenID discovery unless a `jwks_url` is configured, cached, and refetched
 * when a token names a key the cache does not hold.
 */
export class IssuerKeys {
  private readonly sets = new Map<string, Promise<KeySet>>();

  keySet(issuer: string, jwksUrl?: string): Promise<KeySet> {
    const cached = this.sets.get(issuer);
    if (cached) return cached;
    const loading = (async () => {
      const url = jwksUrl ? new URL(jwksUrl) : await discover(issuer);
      return createRemoteJWKSet(url, {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: REFETCH_COOLDOWN_MS,
        cacheMaxAge: CACHE_MAX_AGE_MS,
      });
    })();
    // A failed discovery is retried by the next request rather than remembered.
    loading.catch(() => this.sets.delete(issuer));
    this.sets.set(issuer, loading);
    return loading;
  }
}

async function discover(issuer: string): Promise<URL> {
  const where = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let body: unknown;
  try {
    const response = await fetch(where, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new GreenlightError(
      "AUTH_ISSUER_UNAVAILABLE",
      `cannot read ${where}: ${(error as Error).message} (set jwks_url in trust.oidc to skip discovery)`,
    );
  }
  const jwksUri = (body as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof jwksUri !== "string") {
    throw new GreenlightError("AUTH_ISSUER_UNAVAILABLE", `${where} names no jwks_uri`);
  }
  return new URL(jwksUri);
}

/** jose's key-set failures in the agent's terms: an unknown key is the caller's problem, a dead issuer is not. */
export function keySetError(error: unknown): GreenlightError | undefined {
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new GreenlightError(
      "AUTH_UNKNOWN_KEY",
      "the ID token is signed by a key its issuer does not publish",
    );
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return new GreenlightError("AUTH_UNKNOWN_KEY", "the ID token's key id matches several issuer keys");
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new GreenlightError(
      "AUTH_ISSUER_UNAVAILABLE",
      `the issuer's keys could not be read: ${error.message}`,
    );
  }
  if (error instanceof GreenlightError) return error;
  if (
    error instanceof TypeError ||
    (error instanceof errors.JOSEError && error.code === "ERR_JOSE_GENERIC")
  ) {
    return new GreenlightError(
      "AUTH_ISSUER_UNAVAILABLE",
      `the issuer's keys could not be read: ${error.message}`,
    );
  }
  return undefined;
}

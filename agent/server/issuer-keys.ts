import { createRemoteJWKSet, errors } from "jose";
import { GreenlightError } from "../../shared/errors.js";

type KeySet = ReturnType<typeof createRemoteJWKSet>;

const FETCH_TIMEOUT_MS = 5_000;
/** An unknown `kid` refetches the key set (issuers rotate keys), at most this often. */
const REFETCH_COOLDOWN_MS = 5_000;
const CACHE_MAX_AGE_MS = 10 * 60_000;
/** After a failed discovery, requests naming that issuer are refused at once this long: it is not hammered. */
const FAILURE_COOLDOWN_MS = 30_000;
/** Discoveries across every issuer, at most, per minute (each configured issuer normally needs one). */
const MAX_DISCOVERIES_PER_MINUTE = 20;

/**
 * Each issuer's signing keys, found by OpenID discovery unless a `jwks_url` is configured, cached, and refetched
 * when a token names a key the cache does not hold (jose's own cooldown bounds those refetches per issuer). A
 * failing issuer is remembered for a while and discoveries are capped overall, so no stream of requests can
 * turn the agent into a client that hammers an issuer.
 */
export class IssuerKeys {
  private readonly sets = new Map<string, Promise<KeySet>>();
  private readonly failedAt = new Map<string, { at: number; error: GreenlightError }>();
  private discoveries: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  keySet(issuer: string, jwksUrl?: string): Promise<KeySet> {
    const cached = this.sets.get(issuer);
    if (cached) return cached;
    const failed = this.failedAt.get(issuer);
    if (failed && this.now() - failed.at < FAILURE_COOLDOWN_MS) return Promise.reject(failed.error);
    const now = this.now();
    this.discoveries = this.discoveries.filter((at) => now - at < 60_000);
    if (!jwksUrl && this.discoveries.length >= MAX_DISCOVERIES_PER_MINUTE) {
      return Promise.reject(
        new GreenlightError(
          "AUTH_ISSUER_UNAVAILABLE",
          "too many issuer discoveries this minute; try again shortly",
        ),
      );
    }
    if (!jwksUrl) this.discoveries.push(now);
    const loading = (async () => {
      const url = jwksUrl ? new URL(jwksUrl) : await discover(issuer);
      return createRemoteJWKSet(url, {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: REFETCH_COOLDOWN_MS,
        cacheMaxAge: CACHE_MAX_AGE_MS,
      });
    })();
    loading.catch((error: unknown) =>
      this.failed(
        issuer,
        error instanceof GreenlightError
          ? error
          : new GreenlightError(
              "AUTH_ISSUER_UNAVAILABLE",
              `the issuer could not be reached: ${String(error)}`,
            ),
      ),
    );
    this.sets.set(issuer, loading);
    return loading;
  }

  /** The issuer's keys could not be read: forget them, and refuse its tokens at once for a while. */
  failed(issuer: string, error: GreenlightError): void {
    this.sets.delete(issuer);
    this.failedAt.set(issuer, { at: this.now(), error });
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

import { createHash } from "node:crypto";
import { decodeJwt, errors, jwtVerify, type JWTPayload } from "jose";
import { GreenlightError } from "../../shared/errors.js";
import { CLOCK_SKEW_S } from "../../shared/limits.js";
import type { OidcTrust } from "../config/schema.js";
import { globMatches } from "./glob.js";
import { IssuerKeys, keySetError } from "./issuer-keys.js";

/** Asymmetric only: an issuer's token can never be checked with a shared secret. */
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/** Who a verified ID token speaks for, in the terms the policy and the release history use. */
export interface OidcPrincipal {
  name: string;
  services: string[] | undefined;
  /** Unique per token: the agent pins it to the first run key that uses it. */
  tokenId: string;
  expiresAtS: number;
  identity: Record<string, string>;
}

/** Verifies CI ID tokens against `trust.oidc`: issuer, signature by the issuer's published keys, audience, lifetime, claims. */
export class OidcVerifier {
  constructor(
    private readonly entries: OidcTrust[],
    private readonly agentId: string,
    private readonly keys: IssuerKeys = new IssuerKeys(),
  ) {}

  get size(): number {
    return this.entries.length;
  }

  async verify(token: string, now = Date.now()): Promise<OidcPrincipal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new GreenlightError("AUTH_MALFORMED", "the ID token is not a JWT");
    }
    const issuer = unverified.iss ?? "";
    const candidates = this.entries.filter((entry) => sameIssuer(entry.issuer, issuer));
    const first = candidates[0];
    if (!first) {
      throw new GreenlightError(
        "AUTH_UNTRUSTED_ISSUER",
        `ID tokens from ${issuer.slice(0, 200) || "(no issuer)"} are not trusted by this agent (trust.oidc)`,
      );
    }
    let payload: JWTPayload;
    try {
      const keySet = await this.keys.keySet(first.issuer, first.jwks_url);
      ({ payload } = await jwtVerify(token, keySet, {
        issuer,
        algorithms: ID_TOKEN_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ["iss", "aud", "exp", "iat", "sub"],
        currentDate: new Date(now),
      }));
    } catch (error) {
      const keyFailure = keySetError(error);
      if (keyFailure?.code === "AUTH_ISSUER_UNAVAILABLE") this.keys.failed(first.issuer, keyFailure);
      throw keyFailure ?? tokenError(error);
    }
    if (typeof payload.iat === "number" && payload.iat > now / 1000 + CLOCK_SKEW_S) {
      throw new GreenlightError(
        "AUTH_NOT_YET_VALID",
        `the ID token was issued ${Math.round(payload.iat - now / 1000)}s in the future; check the clocks`,
      );
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ""];
    const expected = (entry: OidcTrust) => entry.audience ?? `greenlight:${this.agentId}`;
    const forUs = candidates.filter((entry) => audiences.includes(expected(entry)));
    if (forUs.length === 0) {
      throw new GreenlightError(
        "AUTH_WRONG_AUDIENCE",
        `the ID token is for ${audiences.join(", ").slice(0, 200)}; this agent expects ${expected(first)}`,
      );
    }
    let mismatch = "";
    for (const entry of forUs) {
      const wrong = Object.entries(entry.claims).find(
        ([claim, pattern]) => !globMatches(pattern, claimText(payload[claim])),
      );
      if (!wrong) return principal(entry, payload, token);
      mismatch ||= `claim ${wrong[0]} is "${claimText(payload[wrong[0]]).slice(0, 200)}", trusted is "${wrong[1]}"`;
    }
    // Which claim failed, and what is trusted, is for the operator (audit log), not for whoever holds the token.
    throw new GreenlightError("AUTH_CLAIMS_MISMATCH", "this agent does not trust this CI identity for that", {
      detail: `the ID token's ${mismatch}; no trust.oidc entry for ${first.issuer} accepts it`,
    });
  }
}

/** Exactly, as OpenID Connect compares them: `https://gitlab.com/` is not `https://gitlab.com`. */
function sameIssuer(configured: string, claimed: string): boolean {
  return configured === claimed;
}

function claimText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

function principal(entry: OidcTrust, payload: JWTPayload, token: string): OidcPrincipal {
  const claim = (...names: string[]) => names.map((n) => claimText(payload[n])).find(Boolean);
  const identity: Record<string, string> = {};
  const fields: [string, string | undefined][] = [
    ["oidc", entry.name ?? new URL(entry.issuer).host],
    ["subject", payload.sub],
    // GitHub and GitLab name the same things differently; the history shows one vocabulary.
    ["repository", claim("repository", "project_path")],
    ["ref", claim("ref_path", "ref")],
    ["commit", claim("sha")],
    ["actor", claim("actor", "user_login")],
    ["run", claim("run_id", "pipeline_id")],
    ["environment", claim("environment")],
  ];
  for (const [field, value] of fields) if (value) identity[field] = value.slice(0, 200);
  return {
    name: identity.oidc ?? "oidc",
    services: entry.services,
    tokenId: payload.jti ?? createHash("sha256").update(token).digest("base64url"),
    expiresAtS: payload.exp ?? 0,
    identity,
  };
}

function tokenError(error: unknown): GreenlightError {
  if (error instanceof errors.JWTExpired) {
    return new GreenlightError(
      "AUTH_EXPIRED",
      "the ID token has expired; the CI job must request a fresh one",
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss")
      return new GreenlightError("AUTH_UNTRUSTED_ISSUER", "the ID token's issuer is not trusted");
    if (error.claim === "iat" || error.claim === "nbf") {
      return new GreenlightError("AUTH_NOT_YET_VALID", `the ID token's ${error.claim} is in the future`);
    }
    return new GreenlightError(
      "AUTH_MALFORMED",
      `the ID token's ${error.claim} claim is invalid: ${error.reason}`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new GreenlightError(
      "AUTH_BAD_SIGNATURE",
      "the ID token's signature does not verify with its issuer's keys",
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new GreenlightError("AUTH_BAD_SIGNATURE", "the ID token's algorithm is not accepted");
  }
  return new GreenlightError("AUTH_MALFORMED", `the ID token could not be read: ${(error as Error).message}`);
}

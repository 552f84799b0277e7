import {
  SignJWT,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  jwtVerify,
} from "jose";
import type { CryptoKey, JWK, ProtectedHeaderParameters } from "jose";
import { GreenlightError } from "./errors.js";
import { CLOCK_SKEW_S, MAX_TOKEN_LIFETIME_S, REQUEST_TYPE, SIGNING_ALGORITHM } from "./limits.js";
import { COMMANDS, RequestClaims } from "./protocol.js";

export type PublicKey = CryptoKey;
export type PrivateKey = CryptoKey;

export async function generateSigningKeys(): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  return { privatePem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey) };
}

export async function importPrivateKey(pem: string): Promise<{ key: PrivateKey; kid: string }> {
  let key: CryptoKey;
  try {
    key = await importPKCS8(pem.trim(), SIGNING_ALGORITHM, { extractable: true });
  } catch {
    throw new GreenlightError(
      "USAGE",
      "the signing key is not an Ed25519 private key in PKCS#8 PEM (make one with greenlight keygen)",
    );
  }
  const jwk = await exportJWK(key);
  // The key id is the public key's thumbprint: both sides derive it, nobody has to keep names in sync.
  const kid = await calculateJwkThumbprint({ kty: "OKP", crv: jwk.crv ?? "Ed25519", x: jwk.x ?? "" });
  return { key, kid };
}

export async function importPublicKey(pem: string): Promise<{ key: PublicKey; kid: string }> {
  const key = await importSPKI(pem.trim(), SIGNING_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(key);
  const kid = await calculateJwkThumbprint({ kty: "OKP", crv: jwk.crv ?? "Ed25519", x: jwk.x ?? "" });
  return { key, kid };
}

/** A signing key; `jwk` is set for a one-time key whose public half travels in the request's header. */
export interface Signer {
  key: PrivateKey;
  kid: string;
  jwk?: JWK;
}

/**
 * A key made for one CI run, for requests that carry a CI ID token instead of a trusted key's signature. The
 * agent pins each ID token to the first such key that uses it, so a token seen after its use is worth nothing.
 */
export async function generateRunSigner(extractable = false): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable });
  return runSigner(privateKey, await exportJWK(publicKey));
}

/** A run key kept as a private JWK (see generateRunSigner). */
export async function runSignerFromJwk(jwk: JWK): Promise<Signer> {
  const key = await importJWK(jwk, SIGNING_ALGORITHM);
  if (key instanceof Uint8Array)
    throw new GreenlightError("USAGE", "the stored run key is not an Ed25519 key");
  return runSigner(key, jwk);
}

async function runSigner(key: PrivateKey, publicPart: JWK): Promise<Signer> {
  const jwk = { kty: "OKP", crv: publicPart.crv ?? "Ed25519", x: publicPart.x ?? "" };
  return { key, kid: await calculateJwkThumbprint(jwk), jwk };
}

/** The public key a request carries in its header (see generateRunSigner), checked against its `kid`. */
export async function embeddedKey(
  header: ProtectedHeaderParameters,
): Promise<{ key: PublicKey; kid: string }> {
  const jwk = header.jwk;
  if (!jwk || jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw new GreenlightError(
      "AUTH_MALFORMED",
      "a request with an ID token must carry its Ed25519 public key in the header (jwk)",
    );
  }
  const normalized = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  const kid = await calculateJwkThumbprint(normalized);
  if (header.kid !== kid) {
    throw new GreenlightError("AUTH_MALFORMED", "the request's kid is not its key's thumbprint");
  }
  const key = await importJWK(normalized, SIGNING_ALGORITHM);
  if (key instanceof Uint8Array)
    throw new GreenlightError("AUTH_MALFORMED", "the request's key is not usable");
  return { key, kid };
}

export type UnsignedClaims = Omit<RequestClaims, "iat" | "exp">;

export async function signRequest(
  claims: UnsignedClaims,
  signer: Signer,
  lifetimeS: number,
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({
      alg: SIGNING_ALGORITHM,
      typ: REQUEST_TYPE,
      kid: signer.kid,
      ...(signer.jwk ? { jwk: signer.jwk } : {}),
    })
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeS)
    .sign(signer.key);
}

export interface VerifiedRequest<K> {
  claims: RequestClaims;
  key: K;
}

/**
 * Verifies a request: algorithm pinned to Ed25519 (so `none` and HMAC-with-the-public-key are refused before
 * any key is used), key found by `kid`, signature, type, audience, nonce, lifetime and clock skew.
 */
export async function verifyRequest<K extends { key: PublicKey }>(
  token: string,
  expect: {
    audience: string;
    nonce: string;
    findKey: (kid: string, header: ProtectedHeaderParameters) => K | undefined | Promise<K | undefined>;
    now?: number;
  },
): Promise<VerifiedRequest<K>> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new GreenlightError("AUTH_MALFORMED", "the request is not a signed token (compact JWS)");
  }
  if (header.alg !== SIGNING_ALGORITHM && header.alg !== "EdDSA") {
    throw new GreenlightError(
      "AUTH_BAD_SIGNATURE",
      `algorithm ${String(header.alg)} is not accepted; requests are signed with Ed25519`,
    );
  }
  const trusted = typeof header.kid === "string" ? await expect.findKey(header.kid, header) : undefined;
  if (!trusted) {
    throw new GreenlightError(
      "AUTH_UNKNOWN_KEY",
      "the request is signed by a key this agent does not trust (add its public key under trust.keys)",
    );
  }
  const now = expect.now ?? Date.now();
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, trusted.key, {
      algorithms: [SIGNING_ALGORITHM, "EdDSA"],
      typ: REQUEST_TYPE,
      audience: expect.audience,
      clockTolerance: CLOCK_SKEW_S,
      maxTokenAge: MAX_TOKEN_LIFETIME_S + CLOCK_SKEW_S,
      requiredClaims: ["iat", "exp", "jti", "aud"],
      currentDate: new Date(now),
    }));
  } catch (error) {
    throw mapJoseError(error);
  }
  const parsed = RequestClaims.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.path[0] === "cmd") {
      throw new GreenlightError(
        "UNKNOWN_COMMAND",
        `unknown command; this agent knows ${COMMANDS.join(", ")}`,
      );
    }
    throw new GreenlightError(
      "AUTH_MALFORMED",
      `request claims are invalid: ${issue?.path.join(".") || "(claims)"}: ${issue?.message ?? ""}`,
    );
  }
  const claims = parsed.data;
  const nowS = Math.floor(now / 1000);
  if (claims.iat > nowS + CLOCK_SKEW_S) {
    throw new GreenlightError(
      "AUTH_NOT_YET_VALID",
      "the request is issued in the future; check the CI runner's clock",
    );
  }
  if (claims.exp - claims.iat > MAX_TOKEN_LIFETIME_S) {
    throw new GreenlightError("AUTH_EXPIRED", `the request's lifetime exceeds ${MAX_TOKEN_LIFETIME_S}s`);
  }
  if (claims.nonce !== expect.nonce) {
    throw new GreenlightError(
      "AUTH_BAD_NONCE",
      "the request is not bound to this connection's nonce (replayed or stale)",
    );
  }
  return { claims, key: trusted };
}

function mapJoseError(error: unknown): GreenlightError {
  if (error instanceof errors.JWTExpired)
    return new GreenlightError("AUTH_EXPIRED", "the request has expired; sign a fresh one");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud")
      return new GreenlightError("AUTH_WRONG_AUDIENCE", "the request is addressed to another agent");
    if (error.claim === "iat" || error.claim === "nbf") {
      return new GreenlightError(
        "AUTH_NOT_YET_VALID",
        `the request's ${error.claim} is not acceptable: ${error.reason}`,
      );
    }
    return new GreenlightError(
      "AUTH_MALFORMED",
      `the request's ${error.claim} claim is invalid: ${error.message}`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new GreenlightError("AUTH_BAD_SIGNATURE", "the request's signature does not verify");
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new GreenlightError("AUTH_BAD_SIGNATURE", "the request's algorithm is not accepted");
  return new GreenlightError("AUTH_MALFORMED", `the request could not be read: ${(error as Error).message}`);
}

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from "jose";

export interface MintOptions {
  /** Overrides of the default GitHub-style claims; `undefined` values remove a claim. */
  claims?: Record<string, unknown>;
  kid?: string;
  /** Sign with a key the issuer does not publish (under a published kid unless `kid` says otherwise). */
  foreignKey?: boolean;
  lifetimeS?: number;
  issuedAgoS?: number;
}

export interface LocalIssuer {
  url: string;
  /** GitHub's ID token endpoint as the runner sees it (ACTIONS_ID_TOKEN_REQUEST_URL). */
  githubTokenUrl: string;
  githubRequestToken: string;
  /** Audiences GitHub's endpoint was asked for, in order. */
  requested: string[];
  mint(audience: string, options?: MintOptions): Promise<string>;
  stop(): Promise<void>;
}

const KID = "issuer-key-1";

/** An OIDC issuer on loopback: discovery, a JWKS, and a mint for tokens shaped like GitHub's. */
export async function startLocalIssuer(defaults: Record<string, unknown>): Promise<LocalIssuer> {
  const published = await generateKeyPair("RS256", { extractable: true });
  const foreign = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(published.publicKey)), kid: KID, alg: "RS256", use: "sig" };
  const requestToken = "runner-request-token";
  const requested: string[] = [];
  let url = "";

  const mint = async (audience: string, options: MintOptions = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000) - (options.issuedAgoS ?? 0);
    const claims: JWTPayload = {
      iss: url,
      aud: audience,
      jti: crypto.randomUUID(),
      ...defaults,
      ...options.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    const key: CryptoKey = options.foreignKey ? foreign.privateKey : published.privateKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: options.kid ?? KID })
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + (options.lifetimeS ?? 300))
      .sign(key);
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", url).pathname;
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (path === "/.well-known/openid-configuration") {
      json(200, { issuer: url, jwks_uri: `${url}/jwks` });
    } else if (path === "/jwks") {
      json(200, { keys: [jwk] });
    } else if (path === "/github-token") {
      if (req.headers.authorization !== `Bearer ${requestToken}`) return json(401, { message: "bad token" });
      const audience = new URL(req.url ?? "/", url).searchParams.get("audience") ?? url;
      requested.push(audience);
      void mint(audience).then((value) => json(200, { value }));
    } else json(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    githubTokenUrl: `${url}/github-token?api-version=2.0`,
    githubRequestToken: requestToken,
    requested,
    mint,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

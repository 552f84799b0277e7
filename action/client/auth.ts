import { decodeJwt } from "jose";
import { GreenlightError } from "../../shared/errors.js";
import { generateRunSigner, importPrivateKey, type Signer } from "../../shared/signing.js";
import { githubIdToken } from "./github-id-token.js";
import { runKeyFor } from "./run-key.js";

/**
 * How requests are signed: by a long-lived key the agent trusts, or by a key made for this run alongside a CI ID
 * token (OIDC) that the agent checks against the issuer it trusts.
 */
export type ClientAuth =
  | { kind: "key"; signer: Signer }
  | { kind: "oidc"; signer: Signer; idToken: (agentId: string) => Promise<string> };

export interface AuthSettings {
  auth: "key" | "oidc";
  keyPem?: string;
  /** The ID token's audience; greenlight:<agent id> when absent. */
  audience?: string;
}

type Env = Record<string, string | undefined>;

/** The variable a GitLab job names in `id_tokens:`. */
export const ID_TOKEN_VARIABLE = "GREENLIGHT_ID_TOKEN";
/** Fetch a fresh token when the one at hand has less than this left: a reconnect must not send an expired one. */
const MIN_REMAINING_S = 60;

export async function clientAuth(settings: AuthSettings, env: Env = process.env): Promise<ClientAuth> {
  if (settings.auth === "key") return { kind: "key", signer: await importPrivateKey(settings.keyPem ?? "") };
  const fixed = env[ID_TOKEN_VARIABLE]?.trim();
  const fetchToken = fixed ? () => Promise.resolve(fixed) : tokenSource(env);
  const cache = new Map<string, { token: string; expS: number }>();
  return {
    kind: "oidc",
    // A token handed to the job is shared by all its greenlight calls, and so must be their key.
    signer: fixed ? await runKeyFor(fixed) : await generateRunSigner(),
    idToken: async (agentId) => {
      const audience = settings.audience ?? `greenlight:${agentId}`;
      const cached = cache.get(audience);
      if (cached && cached.expS - Date.now() / 1000 > MIN_REMAINING_S) return cached.token;
      const token = await fetchToken(audience);
      let expS = 0;
      try {
        expS = decodeJwt(token).exp ?? 0;
      } catch {
        throw new GreenlightError("USAGE", "the CI ID token is not a JWT");
      }
      cache.set(audience, { token, expS });
      return token;
    },
  };
}

/** GitHub Actions mints a token per audience on request (GitLab hands one over in a variable instead). */
function tokenSource(env: Env): (audience: string) => Promise<string> {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    return async (audience) => {
      try {
        const token = await githubIdToken(requestUrl, requestToken, audience);
        // As the runner's own toolkit does: the token is masked in the job's log should anything print it.
        if (/^[\w.-]+$/.test(token)) process.stdout.write(`::add-mask::${token}\n`);
        return token;
      } catch (error) {
        throw new GreenlightError(
          "USAGE",
          `GitHub did not issue an ID token for ${audience}: ${(error as Error).message}`,
        );
      }
    };
  }
  return () =>
    Promise.reject(
      new GreenlightError(
        "USAGE",
        `auth oidc needs a CI ID token: in GitHub Actions grant the job "permissions: id-token: write"; in GitLab CI declare "id_tokens: ${ID_TOKEN_VARIABLE}: aud: greenlight:<agent id>"`,
      ),
    );
}

/**
 * Asks the GitHub Actions runtime for an ID token with `audience`, as `@actions/core`'s getIDToken does
 * (GET ACTIONS_ID_TOKEN_REQUEST_URL&audience=…, bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN, answer `{ value }`),
 * with Node's own fetch: the CLI then bundles no HTTP client. A server error or a dropped connection is
 * tried again twice; a refusal (the job lacks `id-token: write`) is not.
 */
export async function githubIdToken(
  requestUrl: string,
  requestToken: string,
  audience: string,
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  const url = `${requestUrl}&audience=${encodeURIComponent(audience)}`;
  let last = "";
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    try {
      const response = await fetchImpl(url, {
        headers: { authorization: `Bearer ${requestToken}`, accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) {
        const body = (await response.json()) as { value?: unknown };
        if (typeof body.value === "string" && body.value) return body.value;
        throw new Error("the answer has no token (no `value`)");
      }
      last = `HTTP ${response.status}`;
      if (response.status < 500) break;
    } catch (error) {
      last = (error as Error).message;
      if (/no token/.test(last)) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  throw new Error(last);
}

import { request } from "node:http";

export interface HttpExpectation {
  /** Statuses that mean healthy, inclusive. */
  status: [number, number];
  /** The Host header to send (a virtual host that answers only to its name). */
  host?: string;
}

/**
 * One GET that must be answered whole — status, headers and body — within `timeoutMs`: the socket's idle
 * timeout alone would let an answer that trickles a byte at a time hold the deploy forever.
 */
export function probe(url: string, timeoutMs: number, host?: string): Promise<string | number> {
  return new Promise((resolve) => {
    const headers = { connection: "close", ...(host ? { host } : {}) };
    const req = request(url, { method: "GET", headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", (error) => resolve(error.message));
    });
    const deadline = setTimeout(
      () => req.destroy(new Error(`no complete answer within ${timeoutMs}ms`)),
      timeoutMs,
    );
    req.on("close", () => clearTimeout(deadline));
    req.on("error", (error) => resolve((error as NodeJS.ErrnoException).code ?? error.message));
    req.end();
  });
}

/** Healthy when the whole answer comes in time with an expected status. */
export async function httpCheck(
  url: string,
  expect: HttpExpectation,
  timeoutMs: number,
): Promise<true | string> {
  const outcome = await probe(url, timeoutMs, expect.host);
  if (typeof outcome === "number" && outcome >= expect.status[0] && outcome <= expect.status[1]) return true;
  return typeof outcome === "number" ? `HTTP ${outcome}` : outcome;
}

import { GreenlightError } from "../../shared/errors.js";
import type { ServiceConfig } from "../config/schema.js";

type Verify = NonNullable<ServiceConfig["verify"]>;

/**
 * One request after another through the proxy until one answers 2xx or the attempts run out. Resolves with a
 * description of the last answer, throws VERIFY_FAILED with it.
 */
export async function verifyThroughProxy(verify: Verify, signal?: AbortSignal): Promise<string> {
  let last = "no answer";
  for (let attempt = 1; attempt <= verify.attempts; attempt += 1) {
    try {
      const response = await fetch(verify.url, {
        headers: { connection: "close", ...(verify.host ? { host: verify.host } : {}) },
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(verify.request_timeout)])
          : AbortSignal.timeout(verify.request_timeout),
        redirect: "manual",
      });
      await response.body?.cancel();
      last = `HTTP ${response.status}`;
      if (response.ok) return last;
    } catch (error) {
      last = (error as Error).name === "TimeoutError" ? "no answer in time" : (error as Error).message;
    }
    if (attempt < verify.attempts) await new Promise((resolve) => setTimeout(resolve, verify.interval));
  }
  throw new GreenlightError(
    "VERIFY_FAILED",
    `${verify.url}${verify.host ? ` (Host: ${verify.host})` : ""} answered ${last} through the proxy, ${verify.attempts} time(s)`,
  );
}

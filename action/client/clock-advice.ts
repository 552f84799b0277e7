import { CLOCK_SKEW_S } from "../../shared/limits.js";
/**
 * For a refusal about time: how far this machine's clock is from the agent's (its `hello` says), and which to
 * fix, when the difference is more than a few seconds.
 */
export function clockAdvice(code: string, skewMs: number | undefined): string {
  if ((code !== "AUTH_EXPIRED" && code !== "AUTH_NOT_YET_VALID") || skewMs === undefined) return "";
  const seconds = Math.round(Math.abs(skewMs) / 1000);
  if (seconds < 5) return "";
  const way = skewMs > 0 ? "behind" : "ahead of";
  return ` (this machine's clock is ${seconds} s ${way} the agent's; a request tolerates ${CLOCK_SKEW_S} s: set the wrong clock right, e.g. with NTP)`;
}

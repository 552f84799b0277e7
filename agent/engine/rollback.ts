import { GreenlightError } from "../../shared/errors.js";
import type { ReleaseRecord, ServiceState } from "../state/releases.js";

/**
 * The release a rollback returns to: the one named by `to` (release id, digest or digest prefix), or the most
 * recent release that served before the live one. Returns the image pinned by digest, so the exact bytes return.
 */
export function rollbackTarget(
  state: ServiceState,
  repository: string,
  to?: string,
): { record: ReleaseRecord; image: string } {
  const served = state.records.filter((r) => (r.status === "live" || r.status === "retired") && r.digest);
  let record: ReleaseRecord | undefined;
  if (to) {
    const wanted = to.replace(/^sha256:/, "");
    record = [...served]
      .reverse()
      .find(
        (r) =>
          r.id === to || (wanted.length >= 7 && (r.digest ?? "").replace(/^sha256:/, "").startsWith(wanted)),
      );
    if (!record) {
      throw new GreenlightError(
        "NO_RELEASE_TO_ROLL_BACK",
        `no release "${to.slice(0, 80)}" in the kept history (releases: ${served.map((r) => r.id).join(", ") || "none"})`,
      );
    }
  } else {
    const liveId = state.live?.release;
    record = [...served]
      .reverse()
      .find((r) => r.id !== liveId && r.digest !== served.find((s) => s.id === liveId)?.digest);
    if (!record) throw new GreenlightError("NO_RELEASE_TO_ROLL_BACK", "no earlier release to roll back to");
  }
  if (record.id === state.live?.release) {
    throw new GreenlightError("NO_RELEASE_TO_ROLL_BACK", `release ${record.id} is already live`);
  }
  return { record, image: `${repository}@${record.digest}` };
}

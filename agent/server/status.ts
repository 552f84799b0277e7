import type { ReleaseSummary } from "../../shared/protocol.js";
import type { ReleaseRecord } from "../state/releases.js";

export function releaseSummaries(records: ReleaseRecord[]): ReleaseSummary[] {
  return records.map((r) => ({
    id: r.id,
    kind: r.kind,
    status: r.status,
    image: r.image,
    ...(r.digest ? { digest: r.digest } : {}),
    startedAt: r.startedAt,
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    by: r.by,
    ...(r.durations ? { durationMs: r.durations.total } : {}),
    ...(r.error ? { error: `${r.error.code}: ${r.error.message}` } : {}),
  }));
}

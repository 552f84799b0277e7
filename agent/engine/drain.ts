export interface DrainOutcome {
  drained: boolean;
  remaining: number;
  elapsedMs: number;
  /** From the last poll that saw an open connection to the decision: bounds how late the stop comes. */
  tailMs: number;
}

/**
 * Waits until no connection to the old colour remains, or the deadline passes. Zero must hold on two polls in a
 * row: a request accepted by a shutting-down nginx worker just before the switch may still be connecting.
 */
export async function drainConnections(
  countOpen: () => Promise<number>,
  deadlineMs: number,
  onProgress: (open: number) => void,
  pollMs = 10,
): Promise<DrainOutcome> {
  const started = Date.now();
  let zeroes = 0;
  let lastOpenAt = started;
  let lastReported = -1;
  let lastReportAt = 0;
  for (;;) {
    let open: number;
    try {
      open = await countOpen();
    } catch {
      // The process is gone: nothing left to drain.
      return {
        drained: true,
        remaining: 0,
        elapsedMs: Date.now() - started,
        tailMs: Date.now() - lastOpenAt,
      };
    }
    if (open > 0) lastOpenAt = Date.now();
    zeroes = open === 0 ? zeroes + 1 : 0;
    if (zeroes >= 2) {
      return {
        drained: true,
        remaining: 0,
        elapsedMs: Date.now() - started,
        tailMs: Date.now() - lastOpenAt,
      };
    }
    const now = Date.now();
    if (open > 0 && (open !== lastReported || now - lastReportAt > 1000) && now - lastReportAt > 250) {
      onProgress(open);
      lastReported = open;
      lastReportAt = now;
    }
    if (now - started >= deadlineMs) {
      return { drained: false, remaining: open, elapsedMs: now - started, tailMs: 0 };
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

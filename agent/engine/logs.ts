import { GreenlightError } from "../../shared/errors.js";
import { LOG_LINES_PER_SECOND } from "../../shared/limits.js";
import { ContainerOutput, type OutputSink } from "./container-output.js";
import type { ServicePorts } from "./ports.js";

export interface LogsRequest {
  follow: boolean;
  /** Lines from before now; all of them when absent and `sinceS` is given, else 100. */
  lines?: number;
  sinceS?: number;
  signal: AbortSignal;
}

const DEFAULT_LINES = 100;

/**
 * The live release's output for `greenlight logs`, relayed like a deploy's (neutralised, long lines cut, a
 * bounded rate). Following, it carries on with the next release when a deploy replaces the one it read, and
 * with the same container when Docker restarts it. Resolves with why it ended.
 */
export async function streamServiceLogs(
  ports: ServicePorts,
  request: LogsRequest,
  sink: OutputSink,
): Promise<string> {
  const tail = request.lines ?? (request.sinceS === undefined ? DEFAULT_LINES : undefined);
  const output = new ContainerOutput(sink, {
    burst: Math.max(tail ?? 0, 200),
    perSecond: LOG_LINES_PER_SECOND,
    maxLines: Number.POSITIVE_INFINITY,
    maxBytes: Number.POSITIVE_INFINITY,
  });
  let read: { release: string; at: number } | undefined;
  try {
    for (;;) {
      const live = (await ports.store.read()).live;
      if (!live) {
        if (read) return `release ${read.release} is no longer live, and none is`;
        throw new GreenlightError("NOTHING_LIVE", `${ports.name} has no live release on this host yet`);
      }
      const name = ports.runtime.nameOf(live.colour);
      const running = await ports.runtime.find(live.colour);
      if (read) {
        if (running.length === 0) return `${name} (release ${live.release}) stopped`;
        sink.note(
          read.release === live.release
            ? `${name} runs again: following it`
            : `release ${live.release} is live now: following ${name}`,
        );
      }
      const since = read ? Math.max(1, Math.ceil((Date.now() - read.at) / 1000)) : request.sinceS;
      const at = Date.now();
      if (ports.rollout) {
        // Swarm's own view of the service's output: every task's, on every node.
        const reading = await ports.rollout.readOutput(
          {
            follow: request.follow,
            ...(tail !== undefined ? { tail } : {}),
            ...(since !== undefined ? { sinceS: since } : {}),
          },
          (line, cut, stream) => output.line(line, cut, stream),
        );
        const stop = () => reading.stop();
        request.signal.addEventListener("abort", stop, { once: true });
        await reading.ended.finally(() => request.signal.removeEventListener("abort", stop));
        return request.signal.aborted ? "stopped by the client" : "end of the log";
      }
      // A live colour that is not running (it crashed) still has its last words to read.
      const sources = running.length > 0 ? running.map((instance) => instance.id) : [name];
      const readings = await Promise.all(
        sources.map((source, index) => {
          // Replicas' lines interleave: each says which replica it came from.
          const tag = sources.length > 1 ? Buffer.from(`[${index + 1}] `) : undefined;
          return ports.runtime.readOutput(
            source,
            {
              follow: request.follow,
              ...(read ? {} : tail !== undefined ? { tail } : {}),
              ...(since !== undefined ? { sinceS: since } : {}),
            },
            (line, cut, stream) => output.line(tag ? Buffer.concat([tag, line]) : line, cut, stream),
          );
        }),
      );
      const stop = () => readings.forEach((reading) => reading.stop());
      request.signal.addEventListener("abort", stop, { once: true });
      await Promise.all(readings.map((reading) => reading.ended)).finally(() =>
        request.signal.removeEventListener("abort", stop),
      );
      if (!request.follow) return "end of the log";
      if (request.signal.aborted) return "stopped by the client";
      read = { release: live.release, at };
      // The container stopped: a deploy replacing it records the next release before it stops the old one.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    output.close();
  }
}

import type { DeployResult } from "../../shared/events.js";
import type { DeployLog } from "../state/event-log.js";
import type { EventSink } from "./step-logger.js";

export interface DeployOptions {
  by?: Record<string, string>;
  deployId?: string;
  signal?: AbortSignal;
}

/** What a started deploy or rollback is, for those who watch the engine (audit, metrics, webhooks). */
export interface DeployInfo {
  deployId: string;
  service: string;
  kind: "deploy" | "rollback";
  image: string;
  by: Record<string, string>;
}

/** Told when each deploy starts and ends; an observer that throws is ignored, never fails a deploy. */
export interface DeployObserver {
  started?(info: DeployInfo): void;
  finished?(info: DeployInfo, result: DeployResult): void;
}

/** Runs each observer's call; an observer that throws is ignored: watching a deploy must never break it. */
export function notifyAll(observers: DeployObserver[], call: (observer: DeployObserver) => void): void {
  for (const observer of observers) {
    try {
      call(observer);
    } catch {
      // Ignored, as promised.
    }
  }
}

/** Streams a running deploy's events (from the first) to `sink`, and resolves with its result. */
export async function follow(
  log: DeployLog,
  done: Promise<DeployResult>,
  sink?: EventSink,
): Promise<DeployResult> {
  if (sink) {
    for (const event of log.events) sink(event);
    log.subscribe((entry) => {
      if (entry.type === "event") sink(entry.event);
    });
  }
  return done;
}

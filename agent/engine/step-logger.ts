import type { Level, Step } from "../../shared/events.js";
import type { EventInput } from "../state/event-log.js";

export type EventSink = (event: EventInput) => void;

/** Emits events for one step; the engine switches steps as it goes. */
export class StepLogger {
  step: Step = "queue";

  constructor(readonly sink: EventSink) {}

  at(step: Step): this {
    this.step = step;
    return this;
  }

  debug(message: string, data?: EventInput["data"]): void {
    this.emit("debug", message, data);
  }
  info(message: string, data?: EventInput["data"]): void {
    this.emit("info", message, data);
  }
  warn(message: string, data?: EventInput["data"]): void {
    this.emit("warn", message, data);
  }
  error(message: string, data?: EventInput["data"]): void {
    this.emit("error", message, data);
  }

  container(line: string, stream: "stdout" | "stderr"): void {
    this.sink({
      step: this.step,
      level: stream === "stderr" ? "warn" : "info",
      source: "container",
      message: line,
    });
  }

  private emit(level: Level, message: string, data?: EventInput["data"]): void {
    this.sink({ step: this.step, level, source: "agent", message, ...(data ? { data } : {}) });
  }
}

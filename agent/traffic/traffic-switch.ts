import type { Colour } from "../../shared/events.js";

export type { Colour };

export interface SwitchTarget {
  colour: Colour;
  release: string;
  /** `ip:port` of the colour on its network. */
  address: string;
  /** The network's gateway: the host's own address on the colour's network (NAT mode's stable address). */
  gateway: string;
}

export interface SwitchState {
  colour: Colour;
  release: string;
  address: string;
}

export interface SwitchLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Moves new requests from one colour to the other. In-flight requests finish where they started; the engine
 * drains them afterwards. `current()` reads what the switch itself holds (file or kernel rule), the ground truth
 * for reconciling after a crash.
 */
export interface TrafficSwitch {
  readonly mode: "reload" | "nat";
  current(): Promise<SwitchState | undefined>;
  switchTo(target: SwitchTarget, log: SwitchLogger): Promise<{ confirmMs: number }>;
  /** Called once the old colour is stopped: forget what points at it and can no longer finish. */
  retire(oldAddress: string): Promise<void>;
  /** Lifts fences that no longer turn anything away; run by reconcile. */
  tidyFences(): Promise<void>;
}

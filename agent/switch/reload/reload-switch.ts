import type { Proxy, SwitchLogger, SwitchState, SwitchTarget, TrafficSwitch } from "../../engine/ports.js";

/**
 * The simple mode: the proxy's upstream names the live colour's address, and every switch is the proxy's own
 * reload (for nginx: new workers on the new upstream; the old ones finish what they hold).
 */
export class ReloadSwitch implements TrafficSwitch {
  readonly mode = "reload";

  constructor(private readonly proxy: Proxy) {}

  current(): Promise<SwitchState | undefined> {
    return this.proxy.routed();
  }

  switchTo(target: SwitchTarget, log: SwitchLogger): Promise<{ confirmMs: number }> {
    return this.proxy.routeTo(
      { colour: target.colour, release: target.release, addresses: target.addresses },
      log,
    );
  }

  async retire(): Promise<void> {}

  async tidyFences(): Promise<void> {}

  async remove(): Promise<void> {}
}

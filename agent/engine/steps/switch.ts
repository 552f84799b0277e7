import { drainConnections } from "../drain.js";
import { addressesOf, openOn } from "../instances.js";
import type { PlanStep } from "../plan.js";
import type { ReleaseRun } from "../release-run.js";

/**
 * New requests go to the new colour. Undone by sending them back to the old colour, which still runs until the
 * release is recorded, then letting the new colour's few requests finish before it goes.
 */
export const switchTraffic: PlanStep<ReleaseRun> = {
  name: "switch",
  when: (run) => Boolean(run.ports.traffic),
  async run(run) {
    const { traffic, proxy } = run.ports;
    const fresh = run.fresh;
    if (!fresh || !traffic || !proxy) throw new Error("switch before start");
    // The server block proxies to the upstream: before the switch when that exists (a bad block then fails the
    // deploy before traffic moves), after it on a first deploy.
    run.hadUpstream = await proxy.hasUpstream();
    if (run.hadUpstream) await proxy.prepare(run.log);
    const target = {
      colour: run.colour,
      release: run.releaseId,
      addresses: addressesOf(fresh),
      gateway: fresh[0]?.gateway ?? "",
    };
    const { confirmMs } = await traffic.switchTo(target, run.log);
    run.log.info(
      `new requests go to ${run.colour} (release ${run.releaseId}); switch (${traffic.mode}) confirmed in ${confirmMs}ms`,
    );
  },
  async undo(run) {
    const { live, previous, fresh } = run;
    if (!live || !previous || !fresh) return;
    const { traffic, runtime } = run.ports;
    if (!traffic) return;
    run.log.warn(`switching back to ${live.colour} (release ${live.release}), which still runs`);
    await traffic.switchTo(
      { ...live, addresses: addressesOf(previous), gateway: previous[0]?.gateway ?? "" },
      run.log,
    );
    // The new colour served for a moment: its requests finish before it goes.
    run.stopOutput?.();
    await drainConnections(
      () => openOn(fresh, (instance) => runtime.openConnections(instance)),
      run.ports.config.drain,
      () => undefined,
    );
    for (const instance of fresh) {
      await runtime.remove(instance.id, run.ports.config.stop_grace);
      await traffic.retire(instance.address);
    }
    run.log.info(`release ${live.release} serves again; removed ${runtime.nameOf(run.colour)}`);
  },
};

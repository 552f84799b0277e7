import type { Instance, SwitchState } from "./ports.js";

/** The addresses of a colour's instances, in a stable order: what a switch points at. */
export function addressesOf(instances: Instance[]): string[] {
  return instances.map((instance) => instance.address).sort();
}

/** Whether a switch already points at exactly these instances. */
export function pointsAt(state: SwitchState | undefined, instances: Instance[]): boolean {
  const want = addressesOf(instances);
  const have = [...(state?.addresses ?? [])].sort();
  return have.length === want.length && have.every((address, index) => address === want[index]);
}

/** Requests in flight over all of a colour's instances; an instance that is gone has none left. */
export async function openOn(
  instances: Instance[],
  count: (instance: Instance) => Promise<number>,
): Promise<number> {
  const each = await Promise.all(instances.map((instance) => count(instance).catch(() => 0)));
  return each.reduce((sum, open) => sum + open, 0);
}

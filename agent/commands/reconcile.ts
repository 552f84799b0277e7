import { EXIT } from "../../shared/errors.js";
import type { DeployEvent } from "../../shared/events.js";
import type { AgentConfig } from "../config/schema.js";
import { localEngine, printer } from "./local-engine.js";
import type { AgentValues } from "./options.js";

/** `reconcile [--service]`: what the daemon does at start, by hand (after a crash, before a restart). */
export async function reconcileCommand(config: AgentConfig, values: AgentValues): Promise<number> {
  const engine = localEngine(config);
  const print = printer(values.json, values.debug);
  const services = values.service ? [values.service] : Object.keys(config.services);
  let seq = 0;
  for (const service of services) {
    await engine.reconcile(service, (event) => {
      seq += 1;
      print({ ...event, seq, time: new Date().toISOString() } as DeployEvent);
    });
  }
  return EXIT.ok;
}

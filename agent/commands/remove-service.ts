import { EXIT, GreenlightError } from "../../shared/errors.js";
import type { DeployEvent } from "../../shared/events.js";
import type { AgentConfig } from "../config/schema.js";
import { localEngine, printer } from "./local-engine.js";
import type { AgentValues } from "./options.js";

/**
 * `remove-service NAME` (or --service NAME): its containers, switch rules and generated nginx files go; its
 * history stays. Refused while a deploy of it runs. Remove it from the config afterwards, or a deploy brings it
 * back.
 */
export async function removeServiceCommand(
  config: AgentConfig,
  values: AgentValues,
  name?: string,
): Promise<number> {
  const service = name ?? values.service;
  if (!service) throw new GreenlightError("USAGE", "remove-service needs the service's name (see --help)");
  const print = printer(values.json, values.debug);
  let seq = 0;
  await localEngine(config).removeService(service, (event) => {
    seq += 1;
    print({ ...event, seq, time: new Date().toISOString() } as DeployEvent);
  });
  process.stdout.write(`removed ${service} from this host; its history stays in ${config.state_dir}\n`);
  return EXIT.ok;
}

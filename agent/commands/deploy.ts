import type { AgentConfig } from "../config/schema.js";
import { finish, localEngine, localOperator, printer } from "./local-engine.js";
import { required, type AgentValues } from "./options.js";

/** `deploy --service --image` at the host's console. */
export async function deployCommand(config: AgentConfig, values: AgentValues): Promise<number> {
  const print = printer(values.json, values.debug);
  const by = localOperator();
  const result = await localEngine(config).deploy(
    required(values, "service"),
    required(values, "image"),
    print,
    {
      by,
    },
  );
  return finish(result, values.json);
}

/** `rollback --service [--to]` at the host's console. */
export async function rollbackCommand(config: AgentConfig, values: AgentValues): Promise<number> {
  const print = printer(values.json, values.debug);
  const by = localOperator();
  const result = await localEngine(config).rollback(required(values, "service"), values.to, print, { by });
  return finish(result, values.json);
}

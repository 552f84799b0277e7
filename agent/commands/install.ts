import { join } from "node:path";
import { EXIT, asGreenlightError } from "../../shared/errors.js";
import { loadConfig } from "../config/load.js";
import { PATHS, install, uninstall } from "../install/install.js";
import { localEngine } from "./local-engine.js";
import { say, type AgentValues } from "./options.js";

/** `install`: the user, directories, config and systemd unit; started unless --no-start. */
export async function installCommand(values: AgentValues): Promise<number> {
  await install({
    root: values.root,
    ...(values.config ? { configSource: values.config } : {}),
    user: values.user,
    start: !values["no-start"],
    say,
  });
  return EXIT.ok;
}

/**
 * `uninstall`: stops and removes the unit; the services keep serving. --purge first takes every configured
 * service off the host (containers, switch rules, generated nginx files), then removes config, state and user.
 */
export async function uninstallCommand(values: AgentValues): Promise<number> {
  // Under --root (a staged tree) the config's paths are not this host's: services are only removed from "/".
  if (values.purge && values.root === "/") {
    const config = await loadConfig(join(values.root, PATHS.configFile)).catch(() => undefined);
    for (const service of Object.keys(config?.services ?? {})) {
      if (!config) break;
      await localEngine(config)
        .removeService(service, () => undefined)
        .then(() => say(`removed service ${service} (containers, switch rules, generated nginx files)`))
        .catch((error: unknown) =>
          say(`could not remove service ${service}: ${asGreenlightError(error).message}`),
        );
    }
  }
  await uninstall({ root: values.root, purge: values.purge, user: values.user, say });
  return EXIT.ok;
}

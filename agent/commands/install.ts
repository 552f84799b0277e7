import { EXIT } from "../../shared/errors.js";
import { install, uninstall } from "../install/install.js";
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

/** `uninstall`: stops and removes the unit; --purge also removes config, state and the user. */
export async function uninstallCommand(values: AgentValues): Promise<number> {
  await uninstall({ root: values.root, purge: values.purge, user: values.user, say });
  return EXIT.ok;
}

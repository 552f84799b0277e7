import { parseArgs } from "node:util";
import { PROTOCOL_VERSION } from "../shared/limits.js";
import { versionLine } from "../shared/version.js";
import { EXIT, GreenlightError, asGreenlightError, exitCodeFor } from "../shared/errors.js";
import { auditCommand } from "./commands/audit.js";
import { checkConfigCommand } from "./commands/check-config.js";
import { installCommand, uninstallCommand } from "./commands/install.js";
import { deployCommand, rollbackCommand } from "./commands/deploy.js";
import { historyCommand } from "./commands/history.js";
import { reconcileCommand } from "./commands/reconcile.js";
import { AGENT_OPTIONS, required, type AgentValues } from "./commands/options.js";
import type { AgentConfig } from "./config/schema.js";
import { removeServiceCommand } from "./commands/remove-service.js";
import { runDaemon } from "./commands/run.js";
import { loadConfig } from "./config/load.js";

const HELP = `greenlight-agent — the server side of greenlight

Usage:
  greenlight-agent run       --config FILE            serve signed requests over WebSocket
  greenlight-agent deploy    --config FILE --service NAME --image REF [--json]
  greenlight-agent rollback  --config FILE --service NAME [--to RELEASE|DIGEST] [--json]
  greenlight-agent history   --config FILE --service NAME [--json]
  greenlight-agent reconcile --config FILE [--service NAME]
  greenlight-agent install   [--config FILE] [--root DIR] [--user NAME] [--no-start]
  greenlight-agent uninstall [--root DIR] [--purge]
  greenlight-agent audit     --config FILE [--service NAME] [--since 1h|2026-11-23] [--json]
  greenlight-agent check-config --config FILE
  greenlight-agent remove-service NAME --config FILE   its containers, switch rules, generated nginx files
  greenlight-agent --version

Exit codes: 0 succeeded; 1 deploy failed (the previous release keeps serving); 2 usage or config error;
3 refused (unknown service, image outside the service's repository).`;

/** Subcommands that need the config, and what runs each. */
const WITH_CONFIG: Record<string, (config: AgentConfig, values: AgentValues) => Promise<number>> = {
  audit: auditCommand,
  deploy: deployCommand,
  rollback: rollbackCommand,
  history: historyCommand,
  reconcile: reconcileCommand,
};

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--version" || argv[0] === "-V") {
    process.stdout.write(`${versionLine("greenlight-agent", PROTOCOL_VERSION)}\n`);
    return EXIT.ok;
  }
  const { values, positionals } = parseArgs({ args: argv, options: AGENT_OPTIONS, allowPositionals: true });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (command === "install") return installCommand(values);
  if (command === "uninstall") return uninstallCommand(values);
  if (command === "check-config") return checkConfigCommand(values);
  const withConfig = Object.hasOwn(WITH_CONFIG, command) ? WITH_CONFIG[command] : undefined;
  if (command !== "run" && command !== "remove-service" && !withConfig) {
    throw new GreenlightError("USAGE", `unknown command "${command}" (see --help)`);
  }
  // Read once the command is known: a mistyped command says so, not that --config is missing.
  const config = await loadConfig(required(values, "config"));
  if (command === "remove-service") return removeServiceCommand(config, values, positionals[1]);
  if (!withConfig) {
    await runDaemon(required(values, "config"), config);
    return EXIT.ok;
  }
  return withConfig(config, values);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure =
      error instanceof TypeError && "code" in error
        ? new GreenlightError("USAGE", error.message)
        : asGreenlightError(error);
    process.stderr.write(`greenlight-agent: ${failure.code}: ${failure.message}\n`);
    if (process.argv.includes("--debug") && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeFor(failure.code);
  },
);

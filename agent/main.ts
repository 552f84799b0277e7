import { parseArgs } from "node:util";
import { EXIT, GreenlightError, asGreenlightError, exitCodeFor } from "../shared/errors.js";
import type { DeployEvent, DeployResult } from "../shared/events.js";
import { formatEvent, formatResult } from "../shared/format-event.js";
import { readFile } from "node:fs/promises";
import { checkConfigText, formatProblems } from "./check-config.js";
import { loadConfig, parseConfig } from "./config.js";
import { connectDocker } from "./docker/client.js";
import { composeAgent } from "./compose.js";
import { Engine } from "./engine/engine.js";
import type { EventInput } from "./state/event-log.js";
import { formatAudit } from "./audit-table.js";
import { formatHistory } from "./history-table.js";
import { jsonLine, neutralize } from "../shared/neutralize.js";
import { install, uninstall } from "./install/install.js";
import { AuditLog } from "./state/audit-log.js";
import { parseDuration } from "../shared/duration.js";
import { runDaemon } from "./run.js";

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

Exit codes: 0 succeeded; 1 deploy failed (the previous release keeps serving); 2 usage or config error;
3 refused (unknown service, image outside the service's repository).`;

const options = {
  config: { type: "string" },
  service: { type: "string" },
  image: { type: "string" },
  to: { type: "string" },
  since: { type: "string" },
  root: { type: "string", default: "/" },
  user: { type: "string", default: "greenlight" },
  "no-start": { type: "boolean", default: false },
  purge: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  debug: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

function required(values: Values, name: "config" | "service" | "image"): string {
  const value = values[name];
  if (!value) throw new GreenlightError("USAGE", `--${name} is required (see --help)`);
  return value;
}

function printer(json: boolean, debug: boolean): (event: EventInput | DeployEvent) => void {
  const startedAt = Date.now();
  return (event) => {
    if (!("seq" in event)) return;
    if (json) process.stdout.write(`${jsonLine({ type: "event", ...event })}\n`);
    else if (event.level !== "debug" || debug)
      process.stdout.write(`${neutralize(formatEvent(event, startedAt), Number.MAX_SAFE_INTEGER)}\n`);
  };
}

function finish(result: DeployResult, json: boolean): number {
  process.stdout.write(
    json ? `${jsonLine({ type: "result", ...result })}\n` : `${neutralize(formatResult(result))}\n`,
  );
  return result.status === "succeeded" ? EXIT.ok : EXIT.deployFailed;
}

/** `--since`: a duration back from now (90m, 24h) or a date/time (2026-11-23, 2026-11-23T10:00:00Z). */
function parseSince(text: string): Date {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(Date.now() - ago);
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new GreenlightError("USAGE", `--since "${text}" is neither a duration nor a date`);
  return new Date(at);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (command === "install") {
    await install({
      root: values.root,
      ...(values.config ? { configSource: values.config } : {}),
      user: values.user,
      start: !values["no-start"],
      say,
    });
    return EXIT.ok;
  }
  if (command === "uninstall") {
    await uninstall({ root: values.root, purge: values.purge, user: values.user, say });
    return EXIT.ok;
  }
  if (command === "check-config") {
    const file = required(values, "config");
    const text = await readFile(file, "utf8").catch((error: Error) => {
      throw new GreenlightError("CONFIG_NOT_FOUND", `cannot read config file ${file}: ${error.message}`);
    });
    const problems = await checkConfigText(text);
    if (problems.length > 0) {
      process.stdout.write(`${formatProblems(file, problems)}\n${problems.length} problem(s) in ${file}\n`);
      return EXIT.usage;
    }
    const config = parseConfig(text, file);
    process.stdout.write(
      `config ok: agent ${config.id}, ${Object.keys(config.services).length} service(s)\n`,
    );
    return EXIT.ok;
  }
  const config = await loadConfig(required(values, "config"));
  if (command === "run") {
    await runDaemon(required(values, "config"), config);
    return EXIT.ok;
  }
  if (command === "audit") {
    const filter = {
      ...(values.service ? { service: values.service } : {}),
      ...(values.since ? { since: parseSince(values.since) } : {}),
    };
    // Accepted requests and refusals are kept apart on disk; shown together, in the order they happened.
    const records = [
      ...(await new AuditLog(config.state_dir).read(filter)),
      ...(await new AuditLog(config.state_dir, undefined, undefined, undefined, "refused").read(filter)),
    ].sort((a, b) => a.time.localeCompare(b.time));
    process.stdout.write(
      values.json ? records.map((r) => `${jsonLine(r)}\n`).join("") : formatAudit(records),
    );
    return EXIT.ok;
  }
  const { compose, ping } = composeAgent(connectDocker(config.docker.socket));
  const engine = new Engine(config, compose, ping);
  const print = printer(values.json, values.debug);
  const by = { operator: process.env.SUDO_USER ?? process.env.USER ?? "local" };
  switch (command) {
    case "deploy":
      return finish(
        await engine.deploy(required(values, "service"), required(values, "image"), print, { by }),
        values.json,
      );
    case "rollback":
      return finish(
        await engine.rollback(required(values, "service"), values.to, print, { by }),
        values.json,
      );
    case "history": {
      const records = await engine.history(required(values, "service"));
      process.stdout.write(values.json ? `${jsonLine(records, 2)}\n` : formatHistory(records));
      return EXIT.ok;
    }
    case "reconcile": {
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
    default:
      throw new GreenlightError("USAGE", `unknown command "${command}" (see --help)`);
  }
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

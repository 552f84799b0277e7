import { EXIT, GreenlightError, asGreenlightError, exitCodeFor, isErrorCode } from "../shared/errors.js";
import { PROTOCOL_VERSION } from "../shared/limits.js";
import { jsonLine, neutralize } from "../shared/neutralize.js";
import { versionLine } from "../shared/version.js";
import { writeKeyPair } from "./client/keygen.js";
import { runClientCommand } from "./command.js";
import { formatFleet } from "./fleet/fleet-table.js";
import { optionsHelp, readCliSettings } from "./options/from-cli.js";
import type { ClientSettings } from "./options/settings.js";
import { gitlabRenderer } from "./render/gitlab-render.js";
import { lineWriter } from "./render/log-writer.js";
import { formatStatus, jsonRenderer, plainRenderer } from "./render/render.js";

const HELP = `greenlight — zero-downtime Docker deploys from CI, through a greenlight agent

Usage:
  greenlight deploy   --agent [ID=]wss://host:7350 --key FILE --service NAME --image REF
  greenlight rollback --agent URL --key FILE --service NAME [--to RELEASE|DIGEST]
  greenlight status   --agent URL --key FILE --service NAME
  greenlight attach   --agent URL --key FILE --service NAME --deploy-id ID
  greenlight logs     --agent URL --key FILE --service NAME [--follow] [--since DUR] [--lines N]
  greenlight keygen   --out PATH [--force]   writes PATH (private, 0600) and PATH.pub
  greenlight --version

Options (a flag wins over its variable; the Action's inputs of the same name mean the same):
${optionsHelp()}

Exit codes: 0 succeeded; 1 deploy failed or rolled back; 2 usage or config error;
3 rejected by the agent (auth or policy); 4 agent unreachable or connection lost.`;

const USAGE: Record<string, string> = {
  deploy: "greenlight deploy --agent [ID=]URL... --key PEM|FILE --service NAME --image REF",
  rollback: "greenlight rollback --agent [ID=]URL... --key PEM|FILE --service NAME [--to RELEASE|DIGEST]",
  status: "greenlight status --agent [ID=]URL... --key PEM|FILE --service NAME",
  attach: "greenlight attach --agent [ID=]URL --key PEM|FILE --service NAME --deploy-id ID",
  logs: "greenlight logs --agent [ID=]URL... --key PEM|FILE --service NAME [--follow] [--since DUR] [--lines N]",
  keygen: "greenlight keygen --out PATH [--force]",
};

/** `greenlight <command> --help`: that command's usage and every flag it takes. */
function commandHelp(command: string): string {
  return `Usage: ${USAGE[command] ?? `greenlight ${command}`}\n\nOptions:\n${optionsHelp(110, command)}`;
}

const { text: write, raw } = lineWriter();
const { text: note } = lineWriter(process.stderr);

// Output piped into a program that stops reading (`greenlight --help | head`): leave quietly, not with a trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

async function keygen(settings: ClientSettings): Promise<number> {
  const out = settings.out ?? "";
  const { publicPem, kid } = await writeKeyPair(out, { force: settings.force });
  write(`wrote ${out} (private, keep it secret) and ${out}.pub`);
  write(`key id ${kid}; add the public key to the agent's config:\n`);
  const indented = publicPem
    .trim()
    .split("\n")
    .map((line) => `        ${line}`)
    .join("\n");
  write(`trust:\n  keys:\n    - name: ci\n      public_key: |\n${indented}`);
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--version" || argv[0] === "-V") {
    write(versionLine("greenlight", PROTOCOL_VERSION));
    return EXIT.ok;
  }
  const settings = await readCliSettings(argv);
  if (settings.command === "help") {
    write(settings.about ? commandHelp(settings.about) : HELP);
    return settings.explicit ? EXIT.ok : EXIT.usage;
  }
  if (settings.command === "keygen") return keygen(settings);
  const gitlab = process.env.GITLAB_CI === "true";
  const { fleet, report } = await runClientCommand(settings, {
    renderer: (_host, { prefix, interleaved }) => {
      if (settings.json) return jsonRenderer(raw, prefix);
      const view = { debug: settings.debug, ...(prefix ? { prefix } : {}) };
      return gitlab && !interleaved ? gitlabRenderer(write, view, raw) : plainRenderer(write, view);
    },
    note: (line) => (settings.json ? raw(jsonLine({ type: "fleet-note", message: line })) : write(line)),
    status: (host, status, many) => {
      if (settings.json) raw(jsonLine({ ...status, ...(many ? { host: host.name } : {}) }));
      else write(`${many ? `${host.name}: ` : ""}${formatStatus(status)}`);
    },
    log: (host, stream, line, many) => {
      if (settings.json) raw(jsonLine({ type: "log", ...(many ? { host: host.name } : {}), stream, line }));
      // The app's stdout is this command's stdout (for pipes); its stderr and the agent's notes go to stderr.
      else (stream === "stdout" ? write : note)(`${many ? `[${host.name}] ` : ""}${line}`);
    },
  });
  if (["status", "attach", "logs"].includes(settings.command)) return report.exit;
  if (fleet) {
    if (settings.json) raw(jsonLine({ type: "fleet", exit: report.exit, hosts: report.hosts }));
    else write(formatFleet(report));
    return report.exit;
  }
  // One agent: its own error (if it never produced a result) is the error of the command.
  const only = report.hosts[0];
  if (only?.error && !only.result) {
    throw new GreenlightError(
      isErrorCode(only.error.code) ? only.error.code : "INTERNAL",
      only.error.message,
    );
  }
  return report.exit;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure = asGreenlightError(error);
    const json = process.argv.includes("--json");
    if (json) raw(jsonLine({ type: "error", code: failure.code, message: failure.message }));
    process.stderr.write(`greenlight: ${failure.code}: ${neutralize(failure.message)}\n`);
    if (process.argv.includes("--debug") && error instanceof Error && !(error instanceof GreenlightError)) {
      process.stderr.write(`${error.stack}\n`);
    }
    process.exitCode = exitCodeFor(failure.code);
  },
);

import { EXIT, GreenlightError, asGreenlightError, exitCodeFor, isErrorCode } from "../shared/errors.js";
import { checkAgentUrl } from "./agent-url.js";
import { ciMetadata } from "./ci-metadata.js";
import { clientAuth } from "./auth.js";
import { runCommand } from "./client.js";
import { hostsOf, planFleet, runFleet, streamsAtOnce, type Host } from "./fleet.js";
import { formatFleet } from "./fleet-table.js";
import { gitlabRenderer } from "./gitlab-render.js";
import { writeKeyPair } from "./keygen.js";
import { formatStatus, jsonRenderer, plainRenderer } from "./render.js";
import { readSettings } from "./settings.js";
import { lineWriter } from "./log-writer.js";
import { jsonLine, neutralize } from "../shared/neutralize.js";

const HELP = `greenlight — zero-downtime Docker deploys from CI, through a greenlight agent

Usage:
  greenlight deploy   --agent wss://host:7350 --key FILE --service NAME --image REF
  greenlight rollback --agent URL --key FILE --service NAME [--to RELEASE|DIGEST]
  greenlight status   --agent URL --key FILE --service NAME
  greenlight attach   --agent URL --key FILE --service NAME --deploy-id ID
  greenlight keygen   --out PATH          writes PATH (private, 0600) and PATH.pub

Options:
  --agent [ID=]URL   agent WebSocket URL (env GREENLIGHT_AGENT); ws:// only to loopback unless --insecure.
                     Requests are signed only for agent ID; without ID=, the URL's host name is expected
                     (wss://web-1.example.com:7350 must be the agent with id web-1.example.com)
  --agent-id ID      the agent id to expect at the one --agent URL (env GREENLIGHT_AGENT_ID)
  --key FILE         Ed25519 private key (env GREENLIGHT_KEY with the PEM itself, or GREENLIGHT_KEY_FILE)
  --auth oidc        keyless: send the CI's ID token instead (GitLab: id_tokens GREENLIGHT_ID_TOKEN;
                     GitHub Actions: permissions id-token: write) (env GREENLIGHT_AUTH)
  --audience AUD     the ID token's audience when the CLI requests one (default greenlight:<agent id>)
  --service NAME     (env GREENLIGHT_SERVICE)        --image REF   (env GREENLIGHT_IMAGE)
  --ca FILE          CA bundle for the agent's TLS certificate (env GREENLIGHT_CA)
  --timeout DUR      give up after this long, e.g. 10m (env GREENLIGHT_TIMEOUT, default 15m)
  --json             events and the result as JSON lines
  --debug            show debug events and stack traces

Exit codes: 0 succeeded; 1 deploy failed or rolled back; 2 usage or config error;
3 rejected by the agent (auth or policy); 4 agent unreachable or connection lost.`;

const { text: write, raw } = lineWriter();

async function main(argv: string[]): Promise<number> {
  const settings = await readSettings(argv);
  if (settings.command === "help") {
    write(HELP);
    return argv.some((a) => a === "--help" || a === "-h") ? EXIT.ok : EXIT.usage;
  }
  if (settings.command === "keygen") {
    const { publicPem, kid } = await writeKeyPair(settings.out ?? "");
    write(`wrote ${settings.out} (private, keep it secret) and ${settings.out}.pub`);
    write(`key id ${kid}; add the public key to the agent's config:\n`);
    write(
      `trust:\n  keys:\n    - name: ci\n      public_key: |\n${publicPem
        .trim()
        .split("\n")
        .map((l) => `        ${l}`)
        .join("\n")}`,
    );
    return EXIT.ok;
  }
  const auth = await clientAuth(settings);
  if (settings.agents.length > 1 && settings.agentId) {
    throw new GreenlightError(
      "USAGE",
      "--agent-id names one agent; with several, name each: --agent web-1=wss://web-1.example.com:7350",
    );
  }
  const hosts = hostsOf(
    settings.agents.map((agent) => checkAgentUrl(agent, settings.insecure, settings.agentId)),
  );
  const fleet = hosts.length > 1;
  const plan = planFleet(settings, hosts.length);
  const interleaved = streamsAtOnce(plan, hosts.length);
  const renderer = (host: Host) => {
    const prefix = fleet ? host.name : undefined;
    if (settings.json) return jsonRenderer(raw, prefix);
    if (process.env.GITLAB_CI === "true" && !interleaved) {
      return gitlabRenderer(write, { debug: settings.debug, ...(prefix ? { prefix } : {}) }, raw);
    }
    return plainRenderer(write, { debug: settings.debug, ...(prefix ? { prefix } : {}) });
  };
  const options = (host: Host) => ({
    url: host.url,
    auth,
    agentId: host.agentId,
    idFrom: host.idFrom,
    ...(settings.ca ? { ca: settings.ca } : {}),
    timeoutMs: settings.timeoutMs,
    ci: ciMetadata(),
  });
  const args = {
    cmd: settings.command,
    service: settings.service ?? "",
    ...(settings.image ? { image: settings.image } : {}),
    ...(settings.to ? { to: settings.to } : {}),
    ...(settings.deployId ? { deployId: settings.deployId } : {}),
  };

  if (settings.command === "status" || settings.command === "attach") {
    // Read-only or a resumption of one deploy: host by host, no batches.
    let exit: number = EXIT.ok;
    for (const host of hosts) {
      const hostRenderer = renderer(host);
      const outcome = await runCommand(options(host), args, hostRenderer);
      if (outcome.kind === "status") {
        if (settings.json) raw(jsonLine({ ...outcome.status, ...(fleet ? { host: host.name } : {}) }));
        else write(`${fleet ? `${host.name}: ` : ""}${formatStatus(outcome.status)}`);
      } else {
        hostRenderer.result(outcome.result);
        if (outcome.result.status !== "succeeded") exit = EXIT.deployFailed;
      }
    }
    return exit;
  }

  const report = await runFleet(hosts, args, plan, {
    renderer,
    note: (line) => (settings.json ? raw(jsonLine({ type: "fleet-note", message: line })) : write(line)),
    run: (host, request, hostRenderer) => runCommand(options(host), request, hostRenderer),
  });
  if (settings.json) {
    if (fleet) raw(jsonLine({ type: "fleet", exit: report.exit, hosts: report.hosts }));
  } else if (fleet) {
    write(formatFleet(report));
  }
  if (!fleet) {
    // One agent: its own error (if it never produced a result) is the error of the command.
    const only = report.hosts[0];
    if (only?.error && !only.result) {
      throw new GreenlightError(
        isErrorCode(only.error.code) ? only.error.code : "INTERNAL",
        only.error.message,
      );
    }
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

import { EXIT, GreenlightError, asGreenlightError, exitCodeFor } from "../shared/errors.js";
import { checkAgentUrl } from "./agent-url.js";
import { ciMetadata } from "./ci-metadata.js";
import { clientAuth } from "./auth.js";
import { runCommand } from "./client.js";
import { gitlabRenderer } from "./gitlab-render.js";
import { writeKeyPair } from "./keygen.js";
import { formatStatus, jsonRenderer, plainRenderer } from "./render.js";
import { readSettings } from "./settings.js";

const HELP = `greenlight — zero-downtime Docker deploys from CI, through a greenlight agent

Usage:
  greenlight deploy   --agent wss://host:7350 --key FILE --service NAME --image REF
  greenlight rollback --agent URL --key FILE --service NAME [--to RELEASE|DIGEST]
  greenlight status   --agent URL --key FILE --service NAME
  greenlight attach   --agent URL --key FILE --service NAME --deploy-id ID
  greenlight keygen   --out PATH          writes PATH (private, 0600) and PATH.pub

Options:
  --agent URL        agent WebSocket URL (env GREENLIGHT_AGENT); ws:// only to loopback unless --insecure
  --agent-id ID      the agent id to expect (env GREENLIGHT_AGENT_ID); default: the id the agent announces
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

const write = (line: string) => process.stdout.write(`${line}\n`);

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
  const url = checkAgentUrl(settings.agents[0] ?? "", settings.insecure);
  const renderer = settings.json
    ? jsonRenderer(write)
    : process.env.GITLAB_CI === "true"
      ? gitlabRenderer(write, { debug: settings.debug })
      : plainRenderer(write, { debug: settings.debug });
  const outcome = await runCommand(
    {
      url,
      auth,
      ...(settings.agentId ? { agentId: settings.agentId } : {}),
      ...(settings.ca ? { ca: settings.ca } : {}),
      timeoutMs: settings.timeoutMs,
      ci: ciMetadata(),
    },
    {
      cmd: settings.command,
      service: settings.service ?? "",
      ...(settings.image ? { image: settings.image } : {}),
      ...(settings.to ? { to: settings.to } : {}),
      ...(settings.deployId ? { deployId: settings.deployId } : {}),
    },
    renderer,
  );
  if (outcome.kind === "status") {
    write(settings.json ? JSON.stringify(outcome.status) : formatStatus(outcome.status));
    return EXIT.ok;
  }
  renderer.result(outcome.result);
  return outcome.result.status === "succeeded" ? EXIT.ok : EXIT.deployFailed;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure = asGreenlightError(error);
    const json = process.argv.includes("--json");
    if (json) write(JSON.stringify({ type: "error", code: failure.code, message: failure.message }));
    process.stderr.write(`greenlight: ${failure.code}: ${failure.message}\n`);
    if (process.argv.includes("--debug") && error instanceof Error && !(error instanceof GreenlightError)) {
      process.stderr.write(`${error.stack}\n`);
    }
    process.exitCode = exitCodeFor(failure.code);
  },
);

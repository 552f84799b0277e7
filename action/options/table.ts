/**
 * Every client option, stated once: its CLI flag, its environment variables, its Action input, its default and
 * its help. The CLI (`greenlight`), the GitHub Action and the GitLab component (which sets the variables) all
 * read through this table, so an option means the same wherever it is given.
 */
export interface OptionSpec {
  /** Takes no value (a CLI switch; "true"/"false" as an input or variable). */
  boolean?: boolean;
  /** May be repeated on the command line; as an input or variable, a whitespace- or comma-separated list. */
  multiple?: boolean;
  /** Variables read when the flag is not given, first set wins. */
  env?: readonly string[];
  /** The Action input's name; absent: not an Action input. */
  input?: string;
  /** Applied when nothing was given; the same for CLI and Action. */
  default?: string;
  /** Shown in `greenlight --help` (and kept in step with action.yml by a test). */
  help: string;
  /** The value's placeholder in the help. */
  value?: string;
  /** The commands that take it; absent: every command that talks to an agent. */
  commands?: readonly string[];
}

export const OPTIONS = {
  agent: {
    multiple: true,
    env: ["GREENLIGHT_AGENT", "GREENLIGHT_AGENTS"],
    input: "agents",
    value: "[ID=]URL",
    help: "agent WebSocket URL; repeat for a fleet. Requests are signed only for agent ID; without ID=, the URL's host name is expected. ws:// only to loopback unless --insecure",
  },
  "agent-id": {
    env: ["GREENLIGHT_AGENT_ID"],
    input: "agent-id",
    value: "ID",
    help: "the agent id to expect at the one --agent URL",
  },
  key: {
    env: ["GREENLIGHT_KEY", "GREENLIGHT_KEY_FILE"],
    input: "key",
    value: "PEM|FILE",
    help: "Ed25519 private key: the PEM itself (as CI secrets hold it) or a file holding it",
  },
  auth: {
    env: ["GREENLIGHT_AUTH"],
    input: "auth",
    value: "key|oidc",
    help: "oidc: keyless, send the CI's ID token (GitLab: id_tokens GREENLIGHT_ID_TOKEN; GitHub: permissions id-token: write). Default: key, or oidc when GREENLIGHT_ID_TOKEN is set and no key is",
  },
  audience: {
    env: ["GREENLIGHT_AUDIENCE"],
    input: "audience",
    value: "AUD",
    help: "the ID token's audience when one is requested (default greenlight:<agent id>)",
  },
  service: {
    env: ["GREENLIGHT_SERVICE"],
    input: "service",
    value: "NAME",
    help: "the service, as configured on the agents",
  },
  image: {
    commands: ["deploy"],
    env: ["GREENLIGHT_IMAGE"],
    input: "image",
    value: "REF",
    help: "the image to deploy, in the service's repository",
  },
  to: {
    commands: ["rollback"],
    env: ["GREENLIGHT_TO"],
    input: "to",
    value: "RELEASE|DIGEST",
    help: "rollback: the release to return to (default: the previous one)",
  },
  "deploy-id": {
    commands: ["attach"],
    env: ["GREENLIGHT_DEPLOY_ID"],
    value: "ID",
    help: "attach: the deploy to follow",
  },
  ca: {
    env: ["GREENLIGHT_CA"],
    input: "ca",
    value: "PEM|FILE",
    help: "CA bundle for the agents' TLS certificates: the PEM itself or a file holding it",
  },
  insecure: {
    boolean: true,
    env: ["GREENLIGHT_INSECURE"],
    input: "insecure",
    default: "false",
    help: "allow plain ws:// to an agent that is not on loopback (never on an untrusted network)",
  },
  timeout: {
    env: ["GREENLIGHT_TIMEOUT"],
    input: "timeout",
    default: "15m",
    value: "DUR",
    help: "give up after this long",
  },
  strategy: {
    commands: ["deploy", "rollback"],
    env: ["GREENLIGHT_STRATEGY"],
    input: "strategy",
    default: "rolling",
    value: "rolling|parallel",
    help: "several agents: in batches, in order, or all at once (bounded)",
  },
  batch: {
    commands: ["deploy", "rollback"],
    env: ["GREENLIGHT_BATCH"],
    input: "batch",
    default: "1",
    value: "N|N%|all",
    help: "hosts per rolling batch",
  },
  pause: {
    commands: ["deploy", "rollback"],
    env: ["GREENLIGHT_PAUSE"],
    input: "pause",
    default: "0s",
    value: "DUR",
    help: "wait between rolling batches",
  },
  "rollback-on-failure": {
    commands: ["deploy"],
    env: ["GREENLIGHT_ROLLBACK_ON_FAILURE"],
    input: "rollback-on-failure",
    default: "true",
    value: "true|false",
    help: "when a host fails, put the hosts that already switched back on their previous release",
  },
  detach: {
    commands: ["deploy", "rollback", "attach"],
    boolean: true,
    env: ["GREENLIGHT_DETACH"],
    input: "detach",
    default: "false",
    help: "on Ctrl-C or a cancelled job, leave the deploy running on the agents (the default cancels it: the agents undo it)",
  },
  follow: {
    commands: ["logs"],
    boolean: true,
    help: "logs: keep streaming what the service prints, on to the next release when a deploy replaces it",
  },
  since: {
    commands: ["logs"],
    value: "DUR",
    help: "logs: only lines from this long ago on (e.g. 10m, 2h)",
  },
  lines: {
    commands: ["logs"],
    value: "N",
    help: "logs: at most N lines from before now (default 100, or all since --since; at most 10000)",
  },
  json: { boolean: true, help: "events and the result as JSON lines" },
  debug: { boolean: true, help: "debug events, and stack traces of internal errors" },
  out: { commands: ["keygen"], value: "PATH", help: "keygen: where to write the key pair" },
  force: { commands: ["keygen"], boolean: true, help: "keygen: replace an existing key pair" },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** What each option was given as, before it is parsed; undefined: not given and no default. */
export type OptionTexts = { [name in OptionName]?: string | string[] };

/** How an option is named to the user where it was given: `--service (or GREENLIGHT_SERVICE)` or `input "service"`. */
export type Spell = (name: OptionName) => string;

export const COMMAND_WORDS = ["deploy", "rollback", "status", "attach", "logs", "keygen"] as const;

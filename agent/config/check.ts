import { runProgram } from "../process/run-program.js";
import { createPublicKey } from "node:crypto";
import { createSecureContext } from "node:tls";
import { dirname } from "node:path";
import { validateConfigText, type ConfigProblem } from "./load.js";
import { exists, isDirectory, readText } from "../files/exists.js";

type Raw = Record<string, unknown>;

/** What NAT mode runs, how to ask each whether it is there, and where Debian packages it. */
const NAT_TOOLS = {
  iptables: { version: "--version", package: "iptables" },
  conntrack: { version: "-V", package: "conntrack" },
  nft: { version: "--version", package: "nftables" },
} as const;
const object = (value: unknown): Raw => (value && typeof value === "object" ? (value as Raw) : {});
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/**
 * Everything `greenlight-agent check-config` reports: schema problems, then what only the machine can tell —
 * files that do not exist, keys and certificates that do not parse, nginx refusing its own config. Checks that
 * need the file system run even when the schema fails, so one run shows every mistake.
 */
export async function checkConfigText(source: string): Promise<ConfigProblem[]> {
  const validated = validateConfigText(source);
  const problems = [...validated.problems];
  const add = (path: (string | number)[], message: string) =>
    problems.push({ path: path.join("."), line: validated.lineOf(path), message });
  const raw = object(validated.raw);

  const docker = text(object(raw.docker).socket) ?? "/var/run/docker.sock";
  if (!(await exists(docker))) add(["docker", "socket"], `${docker} does not exist: is Docker running here?`);

  const tls = object(raw.tls);
  const [cert, key] = [text(tls.cert), text(tls.key)];
  if (cert && key) {
    const [certPem, keyPem] = await Promise.all([readText(cert), readText(key)]);
    if (certPem === undefined) add(["tls", "cert"], `cannot read ${cert}`);
    if (keyPem === undefined) add(["tls", "key"], `cannot read ${key}`);
    if (certPem !== undefined && keyPem !== undefined) {
      try {
        createSecureContext({ cert: certPem, key: keyPem });
      } catch (error) {
        add(["tls"], `the certificate and key do not form a usable pair: ${(error as Error).message}`);
      }
    }
  }

  const trust = object(raw.trust);
  const keysSeen = new Map<string, number>();
  for (const [index, entry] of asArray(trust.keys).entries()) {
    const file = text(object(entry).public_key_file);
    const inline = text(object(entry).public_key);
    const pem = file ? await readText(file) : inline;
    const where = ["trust", "keys", index, file ? "public_key_file" : "public_key"];
    if (file && pem === undefined) add(where, `cannot read ${file}`);
    else if (pem !== undefined && !isEd25519PublicKey(pem)) {
      add(where, "not an Ed25519 public key in SPKI PEM (greenlight keygen writes one)");
    } else if (pem !== undefined) {
      const der = createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");
      const first = keysSeen.get(der);
      if (first !== undefined) add(where, `the same public key as trust.keys.${first}: list each key once`);
      else keysSeen.set(der, index);
    }
  }

  for (const [host, auth] of Object.entries(object(raw.registries))) {
    const file = text(object(auth).password_file);
    if (file && (await readText(file)) === undefined) {
      add(["registries", host, "password_file"], `cannot read ${file}`);
    }
  }

  const nginxTests = new Map<string, (string | number)[]>();
  const natTools = new Map<string, { tool: keyof typeof NAT_TOOLS; path: (string | number)[] }>();
  for (const [name, value] of Object.entries(object(raw.services))) {
    const service = object(value);
    const envFile = text(service.env_file);
    if (envFile && (await readText(envFile)) === undefined) {
      add(["services", name, "env_file"], `cannot read ${envFile}`);
    }
    for (const [index, volume] of asArray(service.volumes).entries()) {
      const host = text(volume)?.split(":")[0];
      if (host?.startsWith("/") && !(await exists(host))) {
        add(["services", name, "volumes", index], `${host} does not exist (Docker would create it empty)`);
      }
    }
    // A worker has no proxy and no switch: nothing of nginx or NAT to check.
    if (service.kind === "worker") continue;
    const nginx = object(service.nginx);
    const upstream = text(nginx.upstream_file);
    if (upstream?.startsWith("/") && !(await isDirectory(dirname(upstream)))) {
      add(["services", name, "nginx", "upstream_file"], `${dirname(upstream)} is not a directory`);
    }
    const test = asArray(nginx.test).filter((part): part is string => typeof part === "string");
    if (!nginx.container) {
      const command = test.length > 0 ? test : ["nginx", "-t"];
      nginxTests.set(JSON.stringify(command), ["services", name, "nginx", "test"]);
    }
    const switching = object(service.switch);
    const swarm = service.runtime === "swarm";
    if (!swarm && (switching.mode === "nat" || (switching.mode === undefined && !nginx.container))) {
      for (const tool of Object.keys(NAT_TOOLS) as (keyof typeof NAT_TOOLS)[]) {
        const binary = text(switching[tool]) ?? tool;
        if (!natTools.has(binary)) natTools.set(binary, { tool, path: ["services", name, "switch", tool] });
      }
    }
  }
  for (const [binary, { tool, path }] of natTools) {
    const failure = await runTest([binary, NAT_TOOLS[tool].version]);
    if (failure) add(path, `${failure}; NAT mode needs it (Debian package ${NAT_TOOLS[tool].package})`);
  }
  // Each distinct test command once: several services usually share one nginx.
  for (const [command, path] of nginxTests) {
    const failure = await runTest(JSON.parse(command) as string[]);
    if (failure) add(path, failure);
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

export function formatProblems(file: string, problems: ConfigProblem[]): string {
  return problems
    .map((p) => `${file}${p.line ? `:${p.line}` : ""}: ${p.path || "(document)"}: ${p.message}`)
    .join("\n");
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isEd25519PublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}

async function runTest(command: string[]): Promise<string | undefined> {
  const [file, ...args] = command;
  const result = await runProgram(file ?? "nginx", args, { timeoutMs: 30_000 });
  if (result.code === 0) return undefined;
  return `\`${command.join(" ")}\` failed: ${result.output.split("\n").slice(-3).join(" / ")}`;
}

import { runProgram } from "../process/run-program.js";
import { chmod, chown, copyFile, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { isSea } from "node:sea";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GreenlightError } from "../../shared/errors.js";
import { parseConfig } from "../config/load.js";
import { exists } from "../files/exists.js";
import { renderUnit } from "./unit-file.js";

export const UNIT_NAME = "greenlight-agent.service";
export const PATHS = {
  configDir: "/etc/greenlight",
  configFile: "/etc/greenlight/agent.yml",
  libDir: "/usr/local/lib/greenlight",
  agentScript: "/usr/local/lib/greenlight/greenlight-agent.js",
  /** The single executable, when install runs from one: no Node.js on the server. */
  agentBinary: "/usr/local/lib/greenlight/greenlight-agent",
  /** What puts `greenlight-agent` on PATH: a link to whichever of the two was installed. */
  binLink: "/usr/local/bin/greenlight-agent",
  unitFile: `/etc/systemd/system/${UNIT_NAME}`,
};

export interface InstallOptions {
  /** Where the file system starts: "/" on a server, a temporary directory in tests. */
  root: string;
  configSource?: string;
  user: string;
  start: boolean;
  say: (line: string) => void;
}

const STARTER = (
  id: string,
) => `# greenlight agent configuration: see https://github.com/acme/greenlight#the-agents-configuration
id: ${id}
listen: 127.0.0.1:7350
state_dir: /var/lib/greenlight
trust:
  keys: []   # greenlight keygen --out ci.key prints an entry for here
  oidc: []
services: {}
`;

/**
 * \`greenlight-agent install\`: a system user in the docker group, config and state directories with tight
 * permissions, the agent as one file, a hardened systemd unit, enabled and started when systemd runs.
 */
export async function install(o: InstallOptions): Promise<void> {
  const at = (path: string) => join(o.root, path);
  const onServer = o.root === "/";
  // A config that does not load is refused before anything is created.
  const source = o.configSource ? await readSource(o.configSource) : undefined;
  const ids = onServer ? await ensureUser(o.user, o.say) : undefined;
  if (!ids) o.say(`not creating user ${o.user} under ${o.root} (only on a real root)`);

  await privateDir(at(PATHS.configDir));
  const configTarget = at(PATHS.configFile);
  if (source !== undefined) {
    await writeFile(configTarget, source, { mode: 0o640 });
    o.say(`wrote ${PATHS.configFile} from ${o.configSource}`);
  } else if (await exists(configTarget)) {
    o.say(`kept the existing ${PATHS.configFile}`);
  } else {
    await writeFile(configTarget, STARTER(await hostname()), { mode: 0o640 });
    o.say(
      `wrote a starter ${PATHS.configFile}: add trust keys and services, then greenlight-agent check-config`,
    );
  }
  await chmod(configTarget, 0o640);
  const config = parseConfig(await readFile(configTarget, "utf8"), PATHS.configFile);

  const stateDir = at(config.state_dir);
  await privateDir(stateDir);
  if (ids) {
    await chown(at(PATHS.configDir), 0, ids.gid);
    await chown(configTarget, 0, ids.gid);
    await chown(stateDir, ids.uid, ids.gid);
  }
  o.say(
    `state in ${config.state_dir} (0750${ids ? `, owned by ${o.user}` : ""}), config in ${PATHS.configDir} (0750)`,
  );

  await mkdir(at(PATHS.libDir), { recursive: true, mode: 0o755 });
  const program = agentProgram();
  await copyFile(program.from, at(program.to));
  await chmod(at(program.to), 0o755);
  await mkdir(dirname(at(PATHS.binLink)), { recursive: true });
  await rm(at(PATHS.binLink), { force: true });
  await symlink(program.to, at(PATHS.binLink));
  o.say(
    `installed the agent as ${program.to}${program.command.length === 1 ? " (a single executable: no Node.js needed)" : ""}; ${PATHS.binLink} runs it`,
  );

  // The pid file is only read; nginx -t opens the log files, so a host nginx's log directory is writable.
  const writable = new Set<string>(["/run/xtables.lock"]);
  for (const service of Object.values(config.services)) {
    if (service.kind !== "web") continue;
    writable.add(dirname(service.nginx.upstream_file));
    if (service.nginx.server) writable.add(dirname(service.nginx.server.file));
    if (!service.nginx.container) writable.add("/var/log/nginx");
  }
  await mkdir(dirname(at(PATHS.unitFile)), { recursive: true });
  await writeFile(
    at(PATHS.unitFile),
    renderUnit({
      program: program.command,
      configFile: PATHS.configFile,
      stateDir: config.state_dir,
      user: o.user,
      // "-": a path that does not exist yet must not keep the service from starting.
      writablePaths: [...writable].sort().map((path) => `-${path}`),
    }),
    { mode: 0o644 },
  );
  await chmod(at(PATHS.unitFile), 0o644);
  o.say(`wrote ${PATHS.unitFile}`);

  if (onServer && o.start && (await exists("/run/systemd/system"))) {
    await run("systemctl", ["daemon-reload"]);
    await run("systemctl", ["enable", "--now", UNIT_NAME]);
    o.say(`enabled and started ${UNIT_NAME}: journalctl -u ${UNIT_NAME} -f`);
  } else {
    o.say(`systemd is not managing this root: start with systemctl enable --now ${UNIT_NAME} once it is`);
  }
}

/** Reverses install; config and state (releases, audit log) stay unless `purge`. */
export async function uninstall(o: {
  root: string;
  purge: boolean;
  user: string;
  say: (line: string) => void;
}) {
  const at = (path: string) => join(o.root, path);
  if (o.root === "/" && (await exists("/run/systemd/system"))) {
    await run("systemctl", ["disable", "--now", UNIT_NAME]).catch(() => undefined);
  }
  await rm(at(PATHS.unitFile), { force: true });
  await rm(at(PATHS.libDir), { recursive: true, force: true });
  await rm(at(PATHS.binLink), { force: true });
  o.say(`removed ${PATHS.unitFile}, ${PATHS.libDir} and ${PATHS.binLink}`);
  if (!o.purge) {
    o.say(`kept ${PATHS.configDir} and the state directory (uninstall --purge removes them and the user)`);
    return;
  }
  const config = await readFile(at(PATHS.configFile), "utf8")
    .then((text) => parseConfig(text, PATHS.configFile))
    .catch(() => undefined);
  if (config) await rm(at(config.state_dir), { recursive: true, force: true });
  await rm(at(PATHS.configDir), { recursive: true, force: true });
  if (o.root === "/") await run("userdel", [o.user]).catch(() => undefined);
  o.say(`removed ${PATHS.configDir}${config ? ` and ${config.state_dir}` : ""}`);
}

async function readSource(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch((error: Error) => {
    throw new GreenlightError("CONFIG_NOT_FOUND", `cannot read ${file}: ${error.message}`);
  });
  parseConfig(text, file);
  return text;
}

/**
 * What install puts on the server: this executable when install runs from the single executable, else the
 * bundle, run by the node that runs install. `command` is how the unit starts it.
 */
function agentProgram(): { from: string; to: string; command: string[] } {
  if (isSea()) return { from: process.execPath, to: PATHS.agentBinary, command: [PATHS.agentBinary] };
  return { from: agentBundle(), to: PATHS.agentScript, command: [process.execPath, PATHS.agentScript] };
}

/** The agent as one file: this bundle when running from dist/, else dist/ beside the sources. */
function agentBundle(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith(".ts") ? join(dirname(here), "..", "..", "dist", "greenlight-agent.js") : here;
}

async function ensureUser(user: string, say: (line: string) => void): Promise<{ uid: number; gid: number }> {
  const existing = await idsOf(user);
  if (existing) {
    say(`user ${user} exists`);
    await run("usermod", ["--append", "--groups", "docker", user]);
    return existing;
  }
  await run("useradd", [
    "--system",
    "--user-group",
    "--home-dir",
    "/var/lib/greenlight",
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    "--groups",
    "docker",
    user,
  ]);
  say(`created system user ${user} (groups: ${user}, docker)`);
  const created = await idsOf(user);
  if (!created) throw new GreenlightError("INTERNAL", `user ${user} was not created`);
  return created;
}

async function idsOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  const line = (await readFile("/etc/passwd", "utf8")).split("\n").find((l) => l.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(":") ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

async function hostname(): Promise<string> {
  return (await readFile("/etc/hostname", "utf8").catch(() => "agent")).trim().split(".")[0] || "agent";
}

/** A 0750 directory whose missing parents get the usual 0755 (/etc, /var/lib stay readable). */
async function privateDir(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await mkdir(path, { recursive: true, mode: 0o750 });
  await chmod(path, 0o750);
}

async function run(command: string, args: string[]): Promise<void> {
  const result = await runProgram(command, args, { timeoutMs: 60_000 });
  if (result.code !== 0)
    throw new GreenlightError("INTERNAL", `${command} ${args.join(" ")} failed: ${result.output}`);
}

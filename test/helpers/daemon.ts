import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { generateSigningKeys } from "../../shared/signing.js";
import { waitFor } from "./ports.js";
import { ROOT, type Site } from "./site.js";

export interface RunningAgent {
  url: string;
  /** `<agent id>=<url>`: how a client names the agent it expects to reach. */
  target: string;
  port: number;
  /** Base URL of /healthz and /metrics. */
  httpUrl: string;
  child: ChildProcess;
  output(): string;
  /** Sends SIGHUP and resolves with what the agent logged in answer (reloaded, or refused and why). */
  reload(): Promise<string>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface Keys {
  privatePem: string;
  publicPem: string;
  privateFile: string;
}

export async function makeKeys(dir: string, name: string): Promise<Keys> {
  const { privatePem, publicPem } = await generateSigningKeys();
  const privateFile = join(dir, `${name}.key`);
  await writeFile(privateFile, privatePem, { mode: 0o600 });
  await writeFile(`${privateFile}.pub`, publicPem);
  return { privatePem, publicPem, privateFile };
}

/** Writes the site's config with trust keys (and anything else) and starts `greenlight-agent run` on a free port. */
export async function startDaemon(
  site: Site,
  trust: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
  entry = join(ROOT, "agent", "main.ts"),
): Promise<RunningAgent> {
  const config = {
    ...site.config,
    listen: "127.0.0.1:0",
    http: { listen: "127.0.0.1:0" },
    trust: { keys: trust },
    ...extra,
  };
  await writeFile(site.configFile, stringify(config));
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = spawn(process.execPath, [...loader, entry, "run", "--config", site.configFile], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const [port, httpUrl] = await new Promise<[number, string]>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [^:\s]+:(\d+)/.exec(output);
      const metrics = /"metrics":"(http:\/\/[^"]+)\/metrics"/.exec(output);
      if (match) resolve([Number(match[1]), metrics?.[1] ?? ""]);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => reject(new Error(`agent exited (${code}) before listening:\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = `${"tls" in extra ? "wss" : "ws"}://127.0.0.1:${port}`;
  return {
    url,
    target: `${String((config as Record<string, unknown>).id)}=${url}`,
    port,
    httpUrl,
    child,
    output: () => output,
    reload: async () => {
      const mark = output.length;
      child.kill("SIGHUP");
      return waitFor("the agent's answer to SIGHUP", async () => {
        const said = output.slice(mark);
        return /config reloaded|config reload refused/.test(said) ? said : undefined;
      });
    },
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

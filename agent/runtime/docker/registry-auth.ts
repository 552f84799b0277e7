import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { registryOf } from "../../../shared/names.js";
import type { AgentConfig } from "../../config/schema.js";
import { dockerConfigCredentials } from "./docker-credentials.js";
import type { RegistryAuth } from "./pull.js";

/** The agent's own `registries:` entry first; else the login Docker itself has (config.json, helpers). */
export async function registryAuthFor(agent: AgentConfig, image: string): Promise<RegistryAuth | undefined> {
  const host = registryOf(image);
  const auth = agent.registries[host];
  if (auth) {
    const password = auth.password ?? (await readFile(auth.password_file ?? "", "utf8")).trim();
    return { username: auth.username, password, serveraddress: host };
  }
  const configDir = agent.docker.config_dir ?? process.env.DOCKER_CONFIG ?? join(homedir(), ".docker");
  const login = await dockerConfigCredentials(host, configDir);
  return login ? { ...login, serveraddress: host } : undefined;
}

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GreenlightError } from "../../../shared/errors.js";
import { runProgram } from "../../process/run-program.js";

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The keys `docker login` may have used for a registry host in `auths`. */
function authKeys(host: string): string[] {
  const hub = ["docker.io", "index.docker.io", "registry-1.docker.io"].includes(host);
  return hub
    ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io"]
    : [host, `https://${host}`, `http://${host}`];
}

/**
 * A registry login the server already has, read the way the Docker CLI reads it: `config.json` in
 * `configDir`, a credential helper for the host (`credHelpers`, else `credsStore`) asked by the helper
 * protocol (`docker-credential-<name> get`, the host on stdin, JSON back), else `auths`. Undefined when
 * there is none. Passwords never appear in an error: only the helper's name and its own first line.
 */
export async function dockerConfigCredentials(
  host: string,
  configDir: string,
): Promise<{ username: string; password: string } | undefined> {
  let config: DockerConfigFile;
  try {
    config = JSON.parse(await readFile(join(configDir, "config.json"), "utf8")) as DockerConfigFile;
  } catch {
    return undefined;
  }
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(helper))
      throw new GreenlightError(
        "REGISTRY_AUTH_FAILED",
        `credential helper name "${helper.slice(0, 64)}" is not valid`,
      );
    const program = `docker-credential-${helper}`;
    const answer = await runProgram(program, ["get"], { timeoutMs: 15_000, input: host });
    if (answer.code === 0) {
      // Parsed quietly: a parser's message quotes its input, and this input holds the secret.
      let parsed: { Username?: unknown; Secret?: unknown } | undefined;
      try {
        parsed = JSON.parse(answer.stdout) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (typeof parsed?.Username === "string" && typeof parsed.Secret === "string" && parsed.Secret)
        return { username: parsed.Username, password: parsed.Secret };
      throw new GreenlightError(
        "REGISTRY_AUTH_FAILED",
        `credential helper ${program} for ${host} answered something other than {"Username","Secret"} JSON`,
      );
    } else if (!/credentials not found/i.test(answer.output)) {
      const why = answer.missing
        ? "is not installed"
        : `failed: ${answer.output.split("\n")[0]?.slice(0, 200)}`;
      throw new GreenlightError("REGISTRY_AUTH_FAILED", `credential helper ${program} for ${host} ${why}`);
    }
  }
  for (const key of authKeys(host)) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    const decoded = entry.auth ? Buffer.from(entry.auth, "base64").toString("utf8") : "";
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

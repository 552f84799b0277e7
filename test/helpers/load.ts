import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One kind of traffic, run by its own wrk process (closed loop: each connection sends again at once). */
export interface LoadStream {
  name: string;
  path: string;
  connections: number;
  method?: "GET" | "POST";
  /** Milliseconds each connection waits between requests (keeps keep-alive connections idle between them). */
  pauseMs?: number;
  timeoutSeconds?: number;
  /** Each request on a connection of its own (`Connection: close`): no request is ever sent on a reused one. */
  closeEach?: boolean;
}

export interface StreamReport {
  name: string;
  requests: number;
  /** HTTP errors (non-2xx/3xx), socket errors of every kind, and POST bodies not echoed back intact. */
  failed: number;
  detail: string;
}

export interface LoadReport {
  requests: number;
  failed: number;
  streams: StreamReport[];
}

export const STANDARD_LOAD: LoadStream[] = [
  { name: "GET", path: "/cgi-bin/v", connections: 8 },
  { name: "POST", path: "/cgi-bin/echo", connections: 4, method: "POST" },
  { name: "1s requests", path: "/cgi-bin/slow?1", connections: 4, timeoutSeconds: 15 },
  { name: "5s requests", path: "/cgi-bin/slow?5", connections: 2, timeoutSeconds: 15 },
];

/** The standard load plus clients that idle 100 ms between requests on kept-alive connections. */
export const FULL_LOAD: LoadStream[] = [
  ...STANDARD_LOAD,
  { name: "paced keep-alive", path: "/cgi-bin/v", connections: 20, pauseMs: 100 },
];

// wrk's Lua hooks: a POST body to echo, a body check, an optional pause, and a last line with the mismatches.
function script(stream: LoadStream): string {
  return `
local body = string.rep("greenlight-", 90)
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) mismatches = 0 end
${stream.method === "POST" ? `wrk.method = "POST"\nwrk.body = body\nwrk.headers["Content-Type"] = "text/plain"` : ""}
${stream.pauseMs ? `function delay() return ${stream.pauseMs} end` : ""}
${stream.closeEach ? `wrk.headers["Connection"] = "close"` : ""}
function response(status, headers, resp)
  ${stream.method === "POST" ? `if status == 200 and resp ~= body then mismatches = mismatches + 1 end` : ""}
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("mismatches") or 0) end
  io.write(string.format("greenlight-mismatches %d\\n", total))
end
`;
}

function parse(name: string, output: string): StreamReport {
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  const requests = number(/(\d+) requests in/);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const status = number(/Non-2xx or 3xx responses: (\d+)/);
  const mismatches = number(/greenlight-mismatches (\d+)/);
  if (!/requests in/.test(output)) {
    return { name, requests: 0, failed: 1, detail: `wrk did not report: ${output.trim().slice(0, 300)}` };
  }
  const detail = `${socket?.[0] ?? "no socket errors"}; non-2xx ${status}; body mismatches ${mismatches}`;
  return { name, requests, failed: socketErrors + status + mismatches, detail };
}

export interface RunningLoad {
  stop(): Promise<LoadReport>;
}

/** wrk processes of loads not stopped yet: a test that fails before `stop()` must not leave them running. */
const unstopped = new Set<ChildProcess>();

/**
 * Kills the wrk processes of every load its test did not stop (it failed first); they would keep the test
 * file's process, and so the whole run, alive.
 */
export function killLeftoverLoads(): void {
  for (const child of unstopped) child.kill("SIGKILL");
  unstopped.clear();
}

/** Starts every stream against `baseUrl` with wrk (Debian's package) and runs until `stop()`. */
export async function startLoad(
  baseUrl: string,
  streams: LoadStream[] = STANDARD_LOAD,
): Promise<RunningLoad> {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-load-"));
  const running: { name: string; child: ChildProcess; output: Promise<string> }[] = [];
  for (const [index, stream] of streams.entries()) {
    const file = join(dir, `stream-${index}.lua`);
    await writeFile(file, script(stream));
    const child = spawn(
      "wrk",
      [
        "-t1",
        `-c${stream.connections}`,
        "-d3600s",
        `--timeout`,
        `${stream.timeoutSeconds ?? 10}s`,
        "-s",
        file,
        `${baseUrl}${stream.path}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const output = new Promise<string>((resolve, reject) => {
      let text = "";
      child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.on("error", (error) =>
        reject(new Error(`cannot run wrk (apt-get install wrk): ${error.message}`)),
      );
      child.on("close", () => resolve(text));
    });
    running.push({ name: stream.name, child, output });
    unstopped.add(child);
  }
  // Let every connection get going before the caller starts changing things.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    stop: async () => {
      for (const r of running) {
        unstopped.delete(r.child);
        r.child.kill("SIGINT");
      }
      const streamReports = await Promise.all(running.map(async (r) => parse(r.name, await r.output)));
      return {
        requests: streamReports.reduce((sum, s) => sum + s.requests, 0),
        failed: streamReports.reduce((sum, s) => sum + s.failed, 0),
        streams: streamReports,
      };
    },
  };
}

export function describeLoad(report: LoadReport): string {
  return report.streams
    .map((s) => `${s.name}: ${s.requests} requests, ${s.failed} failed (${s.detail})`)
    .join("\n");
}

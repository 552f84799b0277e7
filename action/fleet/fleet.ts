import {
  GreenlightError,
  asGreenlightError,
  categoryOf,
  exitCodeFor,
  EXIT,
  type ExitCode,
} from "../../shared/errors.js";
import type { DeployResult } from "../../shared/events.js";
import { shortName, type AgentTarget } from "../client/agent-url.js";
import type { CommandArgs, Outcome, Renderer } from "../client/client.js";

/** How one CI step reaches many agents. */
export interface FleetPlan {
  strategy: "rolling" | "parallel";
  /** Hosts per batch (rolling); ignored by parallel, which is one batch of all. */
  batch: number;
  pauseMs: number;
  /** When a host fails, put hosts that already switched back on their previous release. */
  rollbackOnFailure: boolean;
  /** Connections open at once, whatever the batch. */
  concurrency: number;
}

export interface Host extends AgentTarget {
  name: string;
}

export type HostStatus =
  "succeeded" | "failed" | "rolled_back" | "reverted" | "not_started" | "unreachable" | "rejected";

export interface HostReport {
  host: string;
  status: HostStatus;
  result?: DeployResult;
  error?: { code: string; message: string };
  /** The fleet rollback of a host that had switched before another host failed. */
  revert?: { release?: string; status: string; error?: string };
}

export interface FleetReport {
  hosts: HostReport[];
  exit: ExitCode;
}

export type HostRenderer = Renderer & { result(result: DeployResult): void; close?(): void };

export interface FleetIo {
  renderer(host: Host): HostRenderer;
  /** Fleet-level lines: batches, preflight, rollbacks. */
  note(line: string): void;
  run(host: Host, args: CommandArgs, renderer: HostRenderer): Promise<Outcome>;
}

export const DEFAULT_CONCURRENCY = 32;

/** The plan from what the user chose (CLI flags or action inputs), for `hosts` hosts. */
export function planFleet(
  choice: { strategy: FleetPlan["strategy"]; batch: string; pauseMs: number; rollbackOnFailure: boolean },
  hosts: number,
): FleetPlan {
  return {
    strategy: choice.strategy,
    batch: parseBatch(choice.batch, hosts),
    pauseMs: choice.pauseMs,
    rollbackOnFailure: choice.rollbackOnFailure,
    concurrency: DEFAULT_CONCURRENCY,
  };
}

/**
 * Whether several hosts stream at the same time: their lines then share the log, prefixed, since neither
 * GitHub groups nor GitLab sections can interleave.
 */
export function streamsAtOnce(plan: FleetPlan, hosts: number): boolean {
  return hosts > 1 && (plan.strategy === "parallel" || plan.batch > 1);
}

/** "1", "10", "25%" or "all" → hosts per batch, at least one. */
export function parseBatch(text: string, hosts: number): number {
  const trimmed = text.trim();
  if (trimmed === "all") return Math.max(1, hosts);
  const percent = /^(\d{1,3})%$/.exec(trimmed);
  if (percent) {
    const value = Number(percent[1]);
    if (value < 1 || value > 100) throw new GreenlightError("USAGE", `batch "${text}" must be 1% to 100%`);
    return Math.max(1, Math.ceil((hosts * value) / 100));
  }
  if (/^\d+$/.test(trimmed) && Number(trimmed) >= 1) return Number(trimmed);
  throw new GreenlightError("USAGE", `batch "${text}" is not a number of hosts, a percentage or "all"`);
}

/** Short names that tell hosts apart: the first label of the hostname, with the port where names collide. */
export function hostsOf(targets: AgentTarget[]): Host[] {
  const counts = new Map<string, number>();
  for (const { url } of targets) counts.set(shortName(url), (counts.get(shortName(url)) ?? 0) + 1);
  return targets.map((target) => {
    const { url } = target;
    const name =
      (counts.get(shortName(url)) ?? 0) > 1 ? `${url.hostname}:${url.port || "443"}` : shortName(url);
    return { ...target, name };
  });
}

/**
 * Runs one command on every host: a preflight that every host answers and allows the request (nothing starts
 * otherwise), then batches in order; the first failure stops new hosts from starting and, for deploys, puts
 * the hosts that already switched back on the release they had.
 */
export async function runFleet(
  hosts: Host[],
  args: CommandArgs,
  plan: FleetPlan,
  io: FleetIo,
): Promise<FleetReport> {
  const reports = new Map<string, HostReport>(
    hosts.map((h) => [h.name, { host: h.name, status: "not_started" }]),
  );
  const ordered = () => hosts.map((h) => reports.get(h.name) as HostReport);
  let exit: ExitCode = EXIT.ok;
  const fail = (code: ExitCode) => {
    if (exit === EXIT.ok) exit = code;
  };

  if (hosts.length > 1 && args.cmd !== "status") {
    io.note(`preflight: asking ${hosts.length} agents whether they accept this request`);
    await pool(
      hosts,
      plan.concurrency,
      () => true,
      async (host) => {
        try {
          await io.run(host, { cmd: "status", service: args.service }, silent);
        } catch (thrown) {
          const error = asGreenlightError(thrown);
          reports.set(host.name, failedReport(host, error));
          fail(exitCodeFor(error.code));
        }
      },
    );
    if (exit !== EXIT.ok) {
      const bad = ordered().filter((r) => r.status !== "not_started");
      io.note(`preflight failed on ${bad.map((r) => r.host).join(", ")}; nothing was started on any host`);
      return { hosts: ordered(), exit };
    }
  }

  const size = plan.strategy === "parallel" ? hosts.length : Math.max(1, plan.batch);
  const batches: Host[][] = [];
  for (let i = 0; i < hosts.length; i += size) batches.push(hosts.slice(i, i + size));
  for (const [index, batch] of batches.entries()) {
    if (exit !== EXIT.ok) break;
    if (index > 0 && plan.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, plan.pauseMs));
    if (batches.length > 1) {
      io.note(`batch ${index + 1}/${batches.length}: ${batch.map((h) => h.name).join(", ")}`);
    }
    await pool(
      batch,
      plan.concurrency,
      () => exit === EXIT.ok,
      async (host) => {
        const renderer = io.renderer(host);
        try {
          const outcome = await io.run(host, args, renderer);
          if (outcome.kind !== "result") {
            reports.set(host.name, { host: host.name, status: "succeeded" });
            return;
          }
          renderer.result(outcome.result);
          const status = outcome.result.status;
          reports.set(host.name, { host: host.name, status, result: outcome.result });
          if (status !== "succeeded") fail(EXIT.deployFailed);
        } catch (thrown) {
          renderer.close?.();
          const error = asGreenlightError(thrown);
          reports.set(host.name, failedReport(host, error));
          fail(exitCodeFor(error.code));
        }
      },
    );
  }

  if (exit !== EXIT.ok && args.cmd === "deploy" && plan.rollbackOnFailure) {
    await revertSwitched(
      hosts.filter((h) => reports.get(h.name)?.status === "succeeded"),
      reports,
      args,
      plan,
      io,
    );
  }
  return { hosts: ordered(), exit };
}

async function revertSwitched(
  switched: Host[],
  reports: Map<string, HostReport>,
  args: CommandArgs,
  plan: FleetPlan,
  io: FleetIo,
): Promise<void> {
  if (switched.length === 0) return;
  io.note(`rolling back ${switched.map((h) => h.name).join(", ")}: another host failed`);
  await pool(
    switched,
    plan.concurrency,
    () => true,
    async (host) => {
      const report = reports.get(host.name) as HostReport;
      const previous = report.result?.previousRelease;
      if (!previous) {
        report.revert = { status: "skipped", error: "no previous release to return to (first deploy)" };
        io.note(
          `${host.name}: first deploy of ${args.service}, nothing to roll back to; left on the new release`,
        );
        return;
      }
      const renderer = io.renderer(host);
      try {
        const outcome = await io.run(
          host,
          { cmd: "rollback", service: args.service, to: previous },
          renderer,
        );
        if (outcome.kind === "result") {
          renderer.result(outcome.result);
          report.revert = {
            release: outcome.result.release ?? previous,
            status: outcome.result.status,
            ...(outcome.result.error ? { error: outcome.result.error.message } : {}),
          };
          if (outcome.result.status === "succeeded") report.status = "reverted";
        }
      } catch (thrown) {
        renderer.close?.();
        const error = asGreenlightError(thrown);
        report.revert = { status: "failed", error: `${error.code}: ${error.message}` };
      }
    },
  );
}

function failedReport(host: Host, error: GreenlightError): HostReport {
  const category = categoryOf(error.code);
  const status: HostStatus =
    category === "unreachable" ? "unreachable" : category === "failed" ? "failed" : "rejected";
  return { host: host.name, status, error: { code: error.code, message: error.message } };
}

const silent: HostRenderer = {
  accepted: () => undefined,
  event: () => undefined,
  reconnecting: () => undefined,
  result: () => undefined,
};

/** Runs `work` over `items` with at most `limit` at once; no new item starts once `go` says stop. */
async function pool<T>(
  items: T[],
  limit: number,
  go: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && go()) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

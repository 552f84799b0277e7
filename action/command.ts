import { EXIT, type ExitCode } from "../shared/errors.js";
import { neutralize } from "../shared/neutralize.js";
import type { LogMessage, StatusMessage } from "../shared/protocol.js";
import { VERSION } from "../shared/version.js";
import { checkAgentUrl } from "./client/agent-url.js";
import { clientAuth } from "./client/auth.js";
import { runCommand, type ClientOptions } from "./client/client.js";
import { ciMetadata } from "./ci/ci-metadata.js";
import {
  hostsOf,
  planFleet,
  runFleet,
  streamsAtOnce,
  type FleetReport,
  type Host,
  type HostRenderer,
  type HostReport,
} from "./fleet/fleet.js";
import type { ClientSettings } from "./options/settings.js";

/** What differs between the CLI and the Action: how a host's stream and the fleet's lines are shown. */
export interface FrontEnd {
  /** `prefix`: the host's name when several agents are asked; `interleaved`: several stream at the same time. */
  renderer(host: Host, view: { prefix?: string; interleaved: boolean }): HostRenderer;
  /** Fleet-level lines: batches, preflight, rollbacks. */
  note(line: string): void;
  /** One agent's answer to `status`. */
  status(host: Host, status: StatusMessage, fleet: boolean): void;
  /** `logs`: one line of a host's service output. */
  log?(host: Host, stream: LogMessage["stream"], line: string, fleet: boolean): void;
  /** Before any agent is asked to change anything (a GitHub deployment is opened here). */
  beforeChange?(): Promise<void>;
}

export interface CommandOutcome {
  hosts: Host[];
  fleet: boolean;
  report: FleetReport;
}

/**
 * The one body of `greenlight <command>`, for the CLI and the Action alike: the agents named (each checked and
 * given the id it must announce), the auth, then `status`/`attach` host by host, or `deploy`/`rollback` as a
 * fleet (rolling or parallel, fail-fast, with a preflight).
 */
export async function runClientCommand(settings: ClientSettings, front: FrontEnd): Promise<CommandOutcome> {
  const auth = await clientAuth(settings);
  const hosts = hostsOf(
    settings.agents.map((agent) => checkAgentUrl(agent, settings.insecure, settings.agentId)),
  );
  const fleet = hosts.length > 1;
  const plan = planFleet(settings, hosts.length);
  const interleaved = streamsAtOnce(plan, hosts.length);
  const renderer = (host: Host) =>
    front.renderer(host, { ...(fleet ? { prefix: host.name } : {}), interleaved });
  const versionNoted = new Set<string>();
  const options = (host: Host): ClientOptions => ({
    onAgentVersion: (version) => {
      if (versionNoted.has(host.name)) return;
      versionNoted.add(host.name);
      front.note(
        `agent ${host.agentId} runs greenlight ${neutralize(version, 64)}; this client is ${VERSION}`,
      );
    },
    url: host.url,
    auth,
    agentId: host.agentId,
    idFrom: host.idFrom,
    ...(settings.ca ? { ca: settings.ca } : {}),
    timeoutMs: settings.timeoutMs,
    ci: ciMetadata(),
  });
  const command = settings.command === "keygen" ? "status" : settings.command;
  const args = {
    cmd: command,
    service: settings.service ?? "",
    ...(settings.image ? { image: settings.image } : {}),
    ...(settings.to ? { to: settings.to } : {}),
    ...(settings.deployId ? { deployId: settings.deployId } : {}),
    ...(command === "logs"
      ? {
          ...(settings.follow ? { follow: true } : {}),
          ...(settings.sinceS !== undefined ? { since: settings.sinceS } : {}),
          ...(settings.lines !== undefined ? { lines: settings.lines } : {}),
        }
      : {}),
  };

  if (command === "logs") {
    // Every host at once: following several, their lines interleave (each tagged) instead of waiting in turn.
    const reports = await Promise.all(
      hosts.map(async (host): Promise<HostReport> => {
        const outcome = await runCommand(options(host), args, {
          ...renderer(host),
          log: (stream, line) => front.log?.(host, stream, line, fleet),
        });
        if (outcome.kind === "logs" && settings.follow)
          front.note(`${fleet ? `${host.name}: ` : ""}logs ended: ${neutralize(outcome.reason, 200)}`);
        return { host: host.name, status: "succeeded" };
      }),
    );
    return { hosts, fleet, report: { hosts: reports, exit: EXIT.ok } };
  }

  if (command === "status" || command === "attach") {
    // Read-only, or the resumption of one deploy: host by host, no batches.
    const reports: HostReport[] = [];
    let exit: ExitCode = EXIT.ok;
    for (const host of hosts) {
      const hostRenderer = renderer(host);
      const outcome = await runCommand(options(host), args, hostRenderer);
      if (outcome.kind === "status") {
        front.status(host, outcome.status, fleet);
        reports.push({ host: host.name, status: "succeeded" });
      } else if (outcome.kind === "result") {
        hostRenderer.result(outcome.result);
        reports.push({ host: host.name, status: outcome.result.status, result: outcome.result });
        if (outcome.result.status !== "succeeded") exit = EXIT.deployFailed;
      }
    }
    return { hosts, fleet, report: { hosts: reports, exit } };
  }

  await front.beforeChange?.();
  const started = new Map<string, string>();
  const cancel = onInterrupt(settings, front, started);
  try {
    const report = await runFleet(hosts, args, plan, {
      renderer: (host) => {
        const inner = renderer(host);
        return {
          ...inner,
          accepted: (deployId, cmd) => {
            started.set(host.name, deployId);
            inner.accepted(deployId, cmd);
          },
        };
      },
      note: front.note,
      // Only the command itself is cancelled; the fleet's own rollbacks of switched hosts still run.
      run: (host, request, hostRenderer) =>
        runCommand(
          { ...options(host), ...(request.cmd === command ? { cancel: cancel.signal } : {}) },
          request,
          hostRenderer,
        ),
    });
    return { hosts, fleet, report };
  } finally {
    cancel.dispose();
  }
}

/**
 * Ctrl-C, or the CI cancelling the job (SIGINT, then SIGTERM): the first asks every agent to cancel its deploy
 * (undone like any failure) and waits for their results; with --detach, or at a second signal, the client
 * leaves at once and the deploys go on, each followable with `greenlight attach`.
 */
function onInterrupt(
  settings: ClientSettings,
  front: FrontEnd,
  started: Map<string, string>,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const leave = () => {
    const ids = [...started].map(([host, id]) => `${host}: ${id}`).join(", ");
    front.note(
      `leaving; the deploys go on on the agents${ids ? ` (${ids}; follow with greenlight attach --deploy-id ID)` : ""}`,
    );
    process.exit(130);
  };
  const interrupted = (signal: NodeJS.Signals) => {
    if (settings.detach || controller.signal.aborted) return leave();
    front.note(`${signal}: cancelling; each agent undoes its deploy and reports (again to leave at once)`);
    controller.abort();
  };
  process.on("SIGINT", interrupted);
  process.on("SIGTERM", interrupted);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", interrupted);
      process.off("SIGTERM", interrupted);
    },
  };
}

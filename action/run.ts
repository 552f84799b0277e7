import * as core from "@actions/core";
import { EXIT, asGreenlightError, exitCodeFor } from "../shared/errors.js";
import { formatDuration } from "../shared/duration.js";
import { neutralize } from "../shared/neutralize.js";
import { GitHubDeployment } from "./ci/github-deployment.js";
import { hostOutput, setOutputs } from "./ci/outputs.js";
import { runClientCommand } from "./command.js";
import { formatFleet } from "./fleet/fleet-table.js";
import { readActionSettings } from "./options/from-action.js";
import { githubRenderer } from "./render/github-render.js";
import { lineWriter } from "./render/log-writer.js";
import { formatStatus, plainRenderer } from "./render/render.js";
import { summaryMarkdown } from "./render/summary.js";

const write = lineWriter().text;

async function startDeployment(
  environment: string,
  environmentUrl: string | undefined,
  token: string | undefined,
) {
  const repository = process.env.GITHUB_REPOSITORY ?? "";
  const [owner, repo] = repository.split("/");
  if (!token || !owner || !repo) {
    core.warning(
      "environment is set but no github-token or GITHUB_REPOSITORY: no GitHub deployment is recorded",
    );
    return undefined;
  }
  const server = process.env.GITHUB_SERVER_URL ?? "https://github.com";
  try {
    return await GitHubDeployment.create(
      {
        token,
        owner,
        repo,
        ref: process.env.GITHUB_SHA ?? process.env.GITHUB_REF ?? "HEAD",
        environment,
        ...(environmentUrl ? { environmentUrl } : {}),
        logUrl: `${server}/${repository}/actions/runs/${process.env.GITHUB_RUN_ID ?? ""}`,
      },
      process.env.GITHUB_API_URL ?? "https://api.github.com",
    );
  } catch (error) {
    core.warning(`could not create a GitHub deployment: ${(error as Error).message}`);
    return undefined;
  }
}

/** The GitHub Action: inputs → the command on every agent (rolling or parallel, fail-fast) → outputs. */
async function main(): Promise<number> {
  const settings = await readActionSettings((name) => core.getInput(name));
  for (const line of (settings.keyPem ?? "").split("\n"))
    if (line.trim() && !line.startsWith("-----")) core.setSecret(line.trim());
  const commands = {
    startGroup: (name: string) => core.startGroup(name),
    endGroup: () => core.endGroup(),
    warning: (message: string, title: string) => core.warning(message, { title }),
    error: (message: string, title: string) => core.error(message, { title }),
  };
  let deployment: GitHubDeployment | undefined;
  const { hosts, fleet, report } = await runClientCommand(settings, {
    renderer: (host, { prefix, interleaved }) =>
      interleaved
        ? plainRenderer(write, prefix ? { prefix } : {})
        : githubRenderer(write, commands, host.name),
    note: write,
    status: (host, status, many) => write(`${many ? `${host.name}: ` : ""}${formatStatus(status)}`),
    beforeChange: async () => {
      if (settings.environment)
        deployment = await startDeployment(
          settings.environment,
          settings.environmentUrl,
          settings.githubToken,
        );
    },
  });
  const command = settings.command;
  if (command === "status") {
    setOutputs({ result: "succeeded" }, (name, value) => core.setOutput(name, value));
    return EXIT.ok;
  }
  for (const host of report.hosts) {
    const failure = host.result?.error ?? host.error;
    if (host.status === "succeeded" || host.status === "not_started" || !failure) continue;
    const where = host.result?.error?.step ? ` at ${host.result.error.step}` : "";
    core.error(`${failure.code}${where}: ${neutralize(failure.message)}`, {
      title: `greenlight ${command} failed on ${host.host}`,
    });
  }
  if (fleet) write(formatFleet(report));

  const exit = report.exit;
  const last = [...report.hosts].reverse().find((h) => h.result)?.result;
  // An agent older than `serving` says only what it attempted; when that succeeded, it is what serves.
  const serving =
    last?.serving ??
    (last?.status === "succeeded" && last.release
      ? { release: last.release, ...(last.digest ? { digest: last.digest } : {}) }
      : undefined);
  setOutputs(
    {
      result: exit === EXIT.ok ? "succeeded" : (last?.status ?? "failed"),
      hosts: report.hosts.map(hostOutput),
      // What serves now: the new release, or after a failure the one that kept serving.
      ...(last
        ? {
            "deploy-id": last.deployId,
            release: serving?.release ?? "",
            digest: serving?.digest ?? "",
            "previous-release": last.previousRelease ?? "",
            "attempted-release": last.release ?? "",
            duration: String(Math.round(last.durations.total)),
          }
        : {}),
    },
    (name, value) => core.setOutput(name, value),
  );
  if (process.env.GITHUB_STEP_SUMMARY) {
    const image = settings.image ?? settings.to ?? "previous release";
    await core.summary.addRaw(summaryMarkdown(command, settings.service ?? "", image, report)).write();
  }
  if (deployment) {
    const failed = report.hosts.find((h) => h.status !== "succeeded");
    const description =
      exit === EXIT.ok
        ? `${settings.image ?? "rollback"} live on ${hosts.length} host(s) in ${formatDuration(last?.durations.total ?? 0)}`
        : `failed on ${failed?.host ?? "?"}: ${failed?.result?.error?.code ?? failed?.error?.code ?? "error"}`;
    await deployment
      .report(exit === EXIT.ok ? "success" : "failure", description)
      .catch((error: Error) => core.warning(`could not update the GitHub deployment: ${error.message}`));
  }
  // Each failed host was annotated once above; the step fails without a second annotation.
  return exit;
}

/**
 * The Action's logic, for its entry (`action/main.ts`) and for harnesses that run an action's code in-process
 * (GitHub's `@github/local-action`): never throws; the exit code and a failure annotation say how it went.
 */
export async function run(): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (error) {
    const failure = asGreenlightError(error);
    core.setFailed(`${failure.code}: ${neutralize(failure.message)}`);
    process.exitCode = exitCodeFor(failure.code);
  }
}

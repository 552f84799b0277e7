import * as core from "@actions/core";
import { EXIT, asGreenlightError, exitCodeFor, type ErrorCode } from "../shared/errors.js";
import { formatDuration } from "../shared/duration.js";
import { clientAuth } from "./auth.js";
import { checkAgentUrl, shortName } from "./agent-url.js";
import { ciMetadata } from "./ci-metadata.js";
import { runCommand } from "./client.js";
import { GitHubDeployment } from "./github-deployment.js";
import { githubRenderer } from "./github-render.js";
import { readActionInputs } from "./inputs.js";
import { formatStatus } from "./render.js";
import { summaryMarkdown, type HostOutcome } from "./summary.js";

const write = (line: string) => process.stdout.write(`${line}\n`);

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

/** The GitHub Action: inputs → one command per agent, in order, stopping at the first failure → outputs. */
async function main(): Promise<number> {
  const inputs = readActionInputs((name) => core.getInput(name));
  for (const line of (inputs.key ?? "").split("\n"))
    if (line.trim() && !line.startsWith("-----")) core.setSecret(line.trim());
  const auth = await clientAuth({
    auth: inputs.auth,
    ...(inputs.key ? { keyPem: inputs.key } : {}),
    ...(inputs.audience ? { audience: inputs.audience } : {}),
  });
  const urls = inputs.agents.map((agent) => checkAgentUrl(agent, inputs.insecure));
  const deployment =
    inputs.environment && inputs.command !== "status"
      ? await startDeployment(inputs.environment, inputs.environmentUrl, inputs.githubToken)
      : undefined;

  const outcomes: HostOutcome[] = [];
  let exit: number = EXIT.ok;
  for (const url of urls) {
    const host = shortName(url);
    const renderer = githubRenderer(
      write,
      {
        startGroup: (name) => core.startGroup(name),
        endGroup: () => core.endGroup(),
        warning: (message, title) => core.warning(message, { title }),
        error: (message, title) => core.error(message, { title }),
      },
      host,
    );
    const outcome: HostOutcome = {
      host,
      service: inputs.service,
      image: inputs.image ?? inputs.to ?? "previous release",
    };
    outcomes.push(outcome);
    try {
      const result = await runCommand(
        {
          url,
          auth,
          timeoutMs: inputs.timeoutMs,
          ci: ciMetadata(),
          ...(inputs.agentId ? { agentId: inputs.agentId } : {}),
          ...(inputs.ca ? { ca: inputs.ca } : {}),
        },
        {
          cmd: inputs.command,
          service: inputs.service,
          ...(inputs.image ? { image: inputs.image } : {}),
          ...(inputs.to ? { to: inputs.to } : {}),
        },
        renderer,
      );
      if (result.kind === "status") {
        renderer.close();
        write(formatStatus(result.status));
        continue;
      }
      outcome.result = result.result;
      renderer.result(result.result);
      if (result.result.status !== "succeeded") {
        exit = EXIT.deployFailed;
        const error = result.result.error;
        core.error(`${error?.code ?? "FAILED"} at ${error?.step ?? "?"}: ${error?.message ?? ""}`, {
          title: `greenlight ${inputs.command} failed on ${host}`,
        });
        break;
      }
    } catch (thrown) {
      renderer.close();
      const failure = asGreenlightError(thrown);
      outcome.error = { code: failure.code, message: failure.message };
      core.error(failure.message, { title: `greenlight ${inputs.command} on ${host}: ${failure.code}` });
      exit = exitCodeFor(failure.code as ErrorCode);
      break;
    }
  }

  const last = outcomes.at(-1)?.result;
  core.setOutput("result", exit === EXIT.ok ? "succeeded" : (last?.status ?? "failed"));
  if (last) {
    core.setOutput("deploy-id", last.deployId);
    core.setOutput("release", last.release ?? "");
    core.setOutput("digest", last.digest ?? "");
    core.setOutput("previous-release", last.previousRelease ?? "");
    core.setOutput("duration", String(last.durations.total));
  }
  if (inputs.command !== "status" && process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(summaryMarkdown(inputs.command, outcomes)).write();
  }
  if (deployment) {
    const description =
      exit === EXIT.ok
        ? `${inputs.image ?? "rollback"} live on ${outcomes.length} host(s) in ${formatDuration(last?.durations.total ?? 0)}`
        : `failed: ${last?.error?.code ?? outcomes.at(-1)?.error?.code ?? "error"}`;
    await deployment
      .report(exit === EXIT.ok ? "success" : "failure", description)
      .catch((error: Error) => core.warning(`could not update the GitHub deployment: ${error.message}`));
  }
  if (exit !== EXIT.ok) core.setFailed(`greenlight ${inputs.command} did not succeed (exit ${exit})`);
  return exit;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure = asGreenlightError(error);
    core.setFailed(`${failure.code}: ${failure.message}`);
    process.exitCode = exitCodeFor(failure.code);
  },
);

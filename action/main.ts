import * as core from "@actions/core";
import { EXIT, GreenlightError, asGreenlightError, exitCodeFor } from "../shared/errors.js";
import { formatDuration } from "../shared/duration.js";
import { clientAuth } from "./auth.js";
import { checkAgentUrl } from "./agent-url.js";
import { ciMetadata } from "./ci-metadata.js";
import { runCommand } from "./client.js";
import { hostsOf, planFleet, runFleet, streamsAtOnce, type Host } from "./fleet.js";
import { hostOutput, setOutputs } from "./outputs.js";
import { formatFleet } from "./fleet-table.js";
import { GitHubDeployment } from "./github-deployment.js";
import { githubRenderer } from "./github-render.js";
import { readActionInputs } from "./inputs.js";
import { formatStatus, plainRenderer } from "./render.js";
import { summaryMarkdown } from "./summary.js";
import { lineWriter } from "./log-writer.js";
import { neutralize } from "../shared/neutralize.js";

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
  const inputs = readActionInputs((name) => core.getInput(name));
  for (const line of (inputs.key ?? "").split("\n"))
    if (line.trim() && !line.startsWith("-----")) core.setSecret(line.trim());
  const auth = await clientAuth({
    auth: inputs.auth,
    ...(inputs.key ? { keyPem: inputs.key } : {}),
    ...(inputs.audience ? { audience: inputs.audience } : {}),
  });
  if (inputs.agents.length > 1 && inputs.agentId) {
    throw new GreenlightError(
      "USAGE",
      'input "agent-id" names one agent; with several, name each in "agents": web-1=wss://web-1.example.com:7350',
    );
  }
  const hosts = hostsOf(inputs.agents.map((agent) => checkAgentUrl(agent, inputs.insecure, inputs.agentId)));
  const plan = planFleet(inputs, hosts.length);
  const fleet = hosts.length > 1;
  const interleaved = streamsAtOnce(plan, hosts.length);
  const commands = {
    startGroup: (name: string) => core.startGroup(name),
    endGroup: () => core.endGroup(),
    warning: (message: string, title: string) => core.warning(message, { title }),
    error: (message: string, title: string) => core.error(message, { title }),
  };
  const renderer = (host: Host) =>
    interleaved ? plainRenderer(write, { prefix: host.name }) : githubRenderer(write, commands, host.name);
  const options = (host: Host) => ({
    url: host.url,
    auth,
    timeoutMs: inputs.timeoutMs,
    ci: ciMetadata(),
    agentId: host.agentId,
    idFrom: host.idFrom,
    ...(inputs.ca ? { ca: inputs.ca } : {}),
  });
  const args = {
    cmd: inputs.command,
    service: inputs.service,
    ...(inputs.image ? { image: inputs.image } : {}),
    ...(inputs.to ? { to: inputs.to } : {}),
  };

  if (inputs.command === "status") {
    for (const host of hosts) {
      const outcome = await runCommand(options(host), args, renderer(host));
      if (outcome.kind === "status") write(`${fleet ? `${host.name}: ` : ""}${formatStatus(outcome.status)}`);
    }
    setOutputs({ result: "succeeded" }, (name, value) => core.setOutput(name, value));
    return EXIT.ok;
  }

  const deployment = inputs.environment
    ? await startDeployment(inputs.environment, inputs.environmentUrl, inputs.githubToken)
    : undefined;
  const report = await runFleet(hosts, args, plan, {
    renderer,
    note: write,
    run: (host, request, hostRenderer) => runCommand(options(host), request, hostRenderer),
  });
  for (const host of report.hosts) {
    const failure = host.result?.error ?? host.error;
    if (host.status === "succeeded" || host.status === "not_started" || !failure) continue;
    const where = host.result?.error?.step ? ` at ${host.result.error.step}` : "";
    core.error(`${failure.code}${where}: ${neutralize(failure.message)}`, {
      title: `greenlight ${inputs.command} failed on ${host.host}`,
    });
  }
  if (fleet) write(formatFleet(report));

  const exit = report.exit;
  const last = [...report.hosts].reverse().find((h) => h.result)?.result;
  setOutputs(
    {
      result: exit === EXIT.ok ? "succeeded" : (last?.status ?? "failed"),
      hosts: report.hosts.map(hostOutput),
      ...(last
        ? {
            "deploy-id": last.deployId,
            release: last.release ?? "",
            digest: last.digest ?? "",
            "previous-release": last.previousRelease ?? "",
            duration: String(Math.round(last.durations.total)),
          }
        : {}),
    },
    (name, value) => core.setOutput(name, value),
  );
  if (process.env.GITHUB_STEP_SUMMARY) {
    const image = inputs.image ?? inputs.to ?? "previous release";
    await core.summary.addRaw(summaryMarkdown(inputs.command, inputs.service, image, report)).write();
  }
  if (deployment) {
    const failed = report.hosts.find((h) => h.status !== "succeeded");
    const description =
      exit === EXIT.ok
        ? `${inputs.image ?? "rollback"} live on ${hosts.length} host(s) in ${formatDuration(last?.durations.total ?? 0)}`
        : `failed on ${failed?.host ?? "?"}: ${failed?.result?.error?.code ?? failed?.error?.code ?? "error"}`;
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
    core.setFailed(`${failure.code}: ${neutralize(failure.message)}`);
    process.exitCode = exitCodeFor(failure.code);
  },
);

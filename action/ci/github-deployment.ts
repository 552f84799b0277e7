import { getOctokit } from "@actions/github";

export interface DeploymentTarget {
  token: string;
  owner: string;
  repo: string;
  ref: string;
  environment: string;
  environmentUrl?: string;
  logUrl?: string;
}

type State = "in_progress" | "success" | "failure";

/**
 * A GitHub deployment for the environment, moved in_progress → success | failure so the repository's
 * Environments page shows what runs where. A failure to talk to GitHub is reported, never fails the deploy.
 */
export class GitHubDeployment {
  private constructor(
    private readonly target: DeploymentTarget,
    private readonly octokit: ReturnType<typeof getOctokit>,
    readonly id: number,
  ) {}

  static async create(target: DeploymentTarget, baseUrl: string): Promise<GitHubDeployment | undefined> {
    const octokit = getOctokit(target.token, { baseUrl });
    const response = await octokit.rest.repos.createDeployment({
      owner: target.owner,
      repo: target.repo,
      ref: target.ref,
      environment: target.environment,
      auto_merge: false,
      required_contexts: [],
      description: "greenlight deploy",
    });
    // 202 (a merge in progress) carries no deployment id: there is nothing to report statuses on.
    if (!("id" in response.data)) return undefined;
    const deployment = new GitHubDeployment(target, octokit, response.data.id);
    await deployment.report("in_progress", "deploying");
    return deployment;
  }

  async report(state: State, description: string): Promise<void> {
    await this.octokit.rest.repos.createDeploymentStatus({
      owner: this.target.owner,
      repo: this.target.repo,
      deployment_id: this.id,
      state,
      description: description.slice(0, 140),
      ...(this.target.environmentUrl ? { environment_url: this.target.environmentUrl } : {}),
      ...(this.target.logUrl ? { log_url: this.target.logUrl } : {}),
      auto_inactive: state === "success",
    });
  }
}

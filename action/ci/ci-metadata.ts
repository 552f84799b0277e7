import type { CiMetadata } from "../../shared/protocol.js";

type Env = Record<string, string | undefined>;

/** Who and what asked for the deploy, from the CI's own variables (GitHub Actions, GitLab CI), else the shell. */
export function ciMetadata(env: Env = process.env): CiMetadata {
  if (env.GITHUB_ACTIONS === "true") {
    const server = env.GITHUB_SERVER_URL ?? "https://github.com";
    return clean({
      provider: "github",
      repository: env.GITHUB_REPOSITORY,
      commit: env.GITHUB_SHA,
      ref: env.GITHUB_REF,
      actor: env.GITHUB_ACTOR,
      runUrl: env.GITHUB_RUN_ID
        ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined,
    });
  }
  if (env.GITLAB_CI === "true") {
    return clean({
      provider: "gitlab",
      repository: env.CI_PROJECT_PATH,
      commit: env.CI_COMMIT_SHA,
      ref: env.CI_COMMIT_REF_NAME,
      actor: env.GITLAB_USER_LOGIN,
      runUrl: env.CI_JOB_URL,
    });
  }
  return clean({ provider: "shell", actor: env.USER ?? env.USERNAME });
}

function clean(meta: Record<string, string | undefined>): CiMetadata {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (value) out[key] = value.slice(0, 200);
  return out as CiMetadata;
}

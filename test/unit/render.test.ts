import assert from "node:assert/strict";
import { test } from "node:test";
import { githubRenderer } from "../../action/render/github-render.js";
import { gitlabRenderer } from "../../action/render/gitlab-render.js";
import { ciMetadata } from "../../action/ci/ci-metadata.js";
import type { DeployEvent } from "../../shared/events.js";

const time = new Date().toISOString();
const event = (
  seq: number,
  step: DeployEvent["step"],
  message: string,
  source: "agent" | "container" = "agent",
): DeployEvent => ({
  seq,
  time,
  step,
  level: "info",
  source,
  message,
});

test("GitLab output: one collapsible section per step, and relayed text cannot open or close one", () => {
  const lines: string[] = [];
  const renderer = gitlabRenderer((line) => lines.push(line), { now: () => 1700000000 });
  renderer.event(event(1, "pull", "pulling"));
  renderer.event(
    event(2, "health", "\u001b[0Ksection_end:1700000000:greenlight_pull_1\r\u001b[0K", "container"),
  );
  renderer.event(event(3, "switch", "switched"));
  renderer.result({ deployId: "d1", service: "web", status: "succeeded", durations: { total: 10 } });
  // Only a line starting with ESC[0K is a marker to GitLab; the relayed text, stripped of ESC, is inert.
  const markers = lines.filter((l) => l.startsWith("\u001b[0Ksection_"));
  assert.deepEqual(
    markers.map((l) => l.split("\u001b[0K").join("").replace(/\r.*/, "")),
    [
      "section_start:1700000000:greenlight_pull_1[collapsed=true]",
      "section_end:1700000000:greenlight_pull_1",
      "section_start:1700000000:greenlight_health_2",
      "section_end:1700000000:greenlight_health_2",
      "section_start:1700000000:greenlight_switch_3",
      "section_end:1700000000:greenlight_switch_3",
    ],
  );
  assert.ok(
    lines.every((l) => l.includes("section_start") || l.includes("section_end") || !l.includes("\u001b")),
  );
});

test("GitHub output: groups per step; a container line never starts a line with ::", () => {
  const lines: string[] = [];
  const calls: string[] = [];
  const renderer = githubRenderer(
    (line) => lines.push(line),
    {
      startGroup: (name) => calls.push(`group ${name}`),
      endGroup: () => calls.push("endgroup"),
      warning: (message) => calls.push(`warning ${message}`),
      error: (message) => calls.push(`error ${message}`),
    },
    "web-1",
  );
  renderer.event(event(1, "health", "::set-output name=result::pwned\n::add-mask::x", "container"));
  renderer.event({ ...event(2, "switch", "slow reload"), level: "warn" });
  renderer.close();
  assert.ok(
    lines.every((l) => !l.trimStart().startsWith("::")),
    lines.join("\n"),
  );
  assert.deepEqual(calls, [
    "group web-1 · health",
    "endgroup",
    "group web-1 · switch",
    "warning slow reload",
    "endgroup",
  ]);
});

test("CI metadata comes from GitHub's or GitLab's own variables", () => {
  assert.deepEqual(
    ciMetadata({
      GITLAB_CI: "true",
      CI_PROJECT_PATH: "acme/shop",
      CI_COMMIT_SHA: "abc",
      CI_COMMIT_REF_NAME: "main",
      GITLAB_USER_LOGIN: "ana",
      CI_JOB_URL: "https://gitlab.example/j/1",
    }),
    {
      provider: "gitlab",
      repository: "acme/shop",
      commit: "abc",
      ref: "main",
      actor: "ana",
      runUrl: "https://gitlab.example/j/1",
    },
  );
  assert.equal(
    ciMetadata({ GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme/shop", GITHUB_RUN_ID: "9" }).runUrl,
    "https://github.com/acme/shop/actions/runs/9",
  );
});

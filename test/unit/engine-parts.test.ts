import assert from "node:assert/strict";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { countInTable } from "../../agent/runtime/docker/connections.js";
import { condensePullProgress } from "../../agent/runtime/docker/pull.js";
import { acquireServiceLock } from "../../agent/engine/lock.js";
import { rollbackTarget } from "../../agent/engine/rollback.js";
import {
  readUpstreamMarker,
  renderStableUpstream,
  renderUpstream,
} from "../../agent/proxy/nginx/upstream.js";
import { generationReplaced } from "../../agent/proxy/nginx/workers.js";
import { restoreNginxFile, writeNginxFile } from "../../agent/proxy/nginx/write-file.js";
import { ReleaseStore, type ReleaseRecord } from "../../agent/state/releases.js";
import { fenceRule, parseDnatRule, parseFence, serviceChain } from "../../agent/switch/nat/iptables.js";
import { isStalled, parseFlows } from "../../agent/switch/nat/conntrack.js";

test("the upstream names the live colour's servers, never marked down, and carries a marker reconcile can read", () => {
  const text = renderUpstream({
    service: "web",
    upstreamName: "greenlight_web",
    colour: "green",
    release: "7",
    addresses: ["172.17.0.3:8080", "172.17.0.4:8080"],
  });
  assert.match(text, /server 172\.17\.0\.3:8080 max_fails=0;\n {4}server 172\.17\.0\.4:8080 max_fails=0;/);
  assert.doesNotMatch(text, /keepalive/);
  assert.deepEqual(readUpstreamMarker(text), { colour: "green", release: "7" });
});

test("a reload is confirmed only when every old worker is gone or shutting down and a new one serves", () => {
  const before = [10, 11];
  assert.equal(
    generationReplaced(before, [
      { pid: 10, shuttingDown: false },
      { pid: 11, shuttingDown: false },
    ]),
    false,
  );
  assert.equal(
    generationReplaced(before, [
      { pid: 10, shuttingDown: true },
      { pid: 11, shuttingDown: false },
      { pid: 12, shuttingDown: false },
    ]),
    false,
  );
  assert.equal(
    generationReplaced(before, [
      { pid: 10, shuttingDown: true },
      { pid: 11, shuttingDown: true },
    ]),
    false,
  );
  assert.equal(
    generationReplaced(before, [
      { pid: 10, shuttingDown: true },
      { pid: 12, shuttingDown: false },
    ]),
    true,
  );
});

test("open connections are counted on the server's port, established or half-open only", () => {
  const table = [
    "  sl  local_address rem_address   st",
    "   0: 0100007F:1F90 00000000:0000 0A", // listening on 8080
    "   1: 030011AC:1F90 010011AC:9C40 01", // established on 8080
    "   2: 030011AC:1F90 010011AC:9C41 06", // time-wait
    "   3: 030011AC:1F90 010011AC:9C42 03", // syn-recv
    "   4: 030011AC:0050 010011AC:9C43 01", // established on another port
  ].join("\n");
  assert.equal(countInTable(table, 8080), 2);
});

test("pull progress: a few lines for people, downloaded bytes that only grow, Docker's own lines as detail", () => {
  const progress: string[] = [];
  const detail: string[] = [];
  const report = condensePullProgress(
    (line, kind) => (kind === "progress" ? progress : detail).push(line),
    0,
  );
  const MB = 1024 * 1024;
  report({ status: "Pulling from web", id: "v1" });
  report({ status: "Pulling fs layer", id: "a" });
  report({ status: "Pulling fs layer", id: "b" });
  for (let i = 1; i <= 200; i += 1)
    report({ status: "Downloading", id: "a", progressDetail: { current: i * 10_000, total: 2 * MB } });
  report({ status: "Download complete", id: "a" });
  // Extraction counts from zero again: not downloaded bytes.
  report({ status: "Extracting", id: "a", progressDetail: { current: 1000, total: 2 * MB } });
  report({ status: "Pull complete", id: "a" });
  report({ status: "Already exists", id: "b" });
  report({ status: "Status: Downloaded newer image" });
  const bytes = progress.map((l) => Number(/, ([\d.]+)\//.exec(l)?.[1] ?? 0));
  assert.deepEqual(
    [...bytes].sort((x, y) => x - y),
    bytes,
    `monotonic: ${progress.join(" | ")}`,
  );
  assert.equal(progress.at(-1), "2/2 layers, 2.0/2.0 MB");
  assert.equal(new Set(progress).size, progress.length, "no line repeats the one before");
  assert.deepEqual(detail, ["Pulling from web", "Status: Downloaded newer image"]);

  const paced: string[] = [];
  const slow = condensePullProgress((line, kind) => kind === "progress" && paced.push(line), 60_000);
  for (let i = 1; i <= 200; i += 1)
    slow({ status: "Downloading", id: "a", progressDetail: { current: i * 10_000, total: 2 * MB } });
  slow({ status: "Pull complete", id: "a" });
  assert.ok(paced.length <= 2, `at most a line a minute here, and the last: ${paced.join(" | ")}`);
});

test("a bind-mounted file is rewritten in place, keeping its inode, and restored the same way", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gl-write-"));
  const file = join(dir, "web.upstream.conf");
  await writeFile(file, "old\n");
  const inode = (await stat(file)).ino;
  const written = await writeNginxFile(file, "new\n", true);
  assert.equal(written.method, "in-place");
  assert.equal((await stat(file)).ino, inode);
  assert.equal(await readFile(file, "utf8"), "new\n");
  await restoreNginxFile(file, written);
  assert.equal(await readFile(file, "utf8"), "old\n");
  const renamed = await writeNginxFile(file, "renamed\n");
  assert.equal(renamed.method, "rename");
  assert.notEqual((await stat(file)).ino, inode);
});

function record(id: string, status: ReleaseRecord["status"], digest?: string): ReleaseRecord {
  return {
    id,
    deployId: `d${id}`,
    kind: "deploy",
    image: "r/web:x",
    colour: "blue",
    status,
    startedAt: "",
    by: {},
    ...(digest ? { digest } : {}),
  };
}

test("rollback goes to the last release that served before the live one, pinned by digest", () => {
  const state = {
    nextId: 5,
    live: { colour: "blue" as const, release: "4" },
    records: [
      record("1", "retired", "sha256:aaa1111"),
      record("2", "retired", "sha256:bbb2222"),
      record("3", "failed", "sha256:ccc"),
      record("4", "live", "sha256:ddd"),
    ],
  };
  assert.equal(rollbackTarget(state, "r/web").record.id, "2");
  assert.equal(rollbackTarget(state, "r/web").image, "r/web@sha256:bbb2222");
  assert.equal(rollbackTarget(state, "r/web", "1").record.id, "1");
  assert.equal(rollbackTarget(state, "r/web", "aaa1111").record.id, "1");
  assert.throws(() => rollbackTarget(state, "r/web", "3"), /NO_RELEASE|no release/);
  assert.throws(() => rollbackTarget(state, "r/web", "4"), /already live/);
});

test("history keeps the last N releases that served, and the live one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gl-state-"));
  const store = new ReleaseStore(dir, "web", 2);
  for (let i = 1; i <= 5; i += 1) {
    await store.update((s) => {
      s.records.push(record(String(i), i === 5 ? "live" : "retired", `sha256:${i}`));
      s.live = { colour: "blue", release: String(i) };
    });
  }
  assert.deepEqual(
    (await store.history()).map((r) => r.id),
    ["4", "5"],
  );
});

test("the service lock serializes holders and takes over a lock left by a dead process", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gl-lock-"));
  const first = await acquireServiceLock(dir, "web", "d1", { timeoutMs: 1000 });
  await assert.rejects(
    acquireServiceLock(dir, "web", "d2", { timeoutMs: 200 }),
    /DEPLOY_IN_PROGRESS|still holds/,
  );
  await first.release();
  const second = await acquireServiceLock(dir, "web", "d2", { timeoutMs: 200 });
  await second.release();
  await writeFile(
    join(dir, "locks", "web.lock"),
    JSON.stringify({ pid: 2 ** 22 + 7, deployId: "dead", since: "" }),
  );
  const third = await acquireServiceLock(dir, "web", "d3", { timeoutMs: 200 });
  await third.release();
});

test("the NAT rule is read back from iptables -S", () => {
  const listing =
    '-N GL-abc\n-A GL-abc -p tcp -m comment --comment "greenlight:web:green:7" -j DNAT --to-destination 172.17.0.3:8080';
  assert.deepEqual(parseDnatRule(listing), {
    destination: "172.17.0.3:8080",
    comment: "greenlight:web:green:7",
  });
  assert.ok(serviceChain("a".repeat(63)).length <= 28);
});

test("NAT mode's upstream lists the stable address more than once, so a fenced connect is retried on a new connection", () => {
  const text = renderStableUpstream("web", "greenlight_web", "172.17.0.1:17080");
  assert.equal(text.match(/server 172\.17\.0\.1:17080 max_fails=0;/g)?.length, 4);
});

test("a fence turns away only the stable address's flows to the old colour, and is read back from iptables -S", () => {
  const rule = fenceRule("web", "172.17.0.3:8080", "172.17.0.1:17080");
  assert.deepEqual(rule.slice(0, 10), [
    "-p",
    "tcp",
    "-d",
    "172.17.0.3/32",
    "-m",
    "conntrack",
    "--ctorigdst",
    "172.17.0.1",
    "--ctorigdstport",
    "17080",
  ]);
  // How iptables -S prints it.
  const line =
    '-A OUTPUT -d 172.17.0.3/32 -p tcp -m conntrack --ctorigdst 172.17.0.1 --ctorigdstport 17080 -m tcp --dport 8080 --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "greenlight-fence:web" -j REJECT --reject-with tcp-reset';
  const fence = parseFence(line, "web");
  assert.equal(fence?.address, "172.17.0.3:8080");
  assert.equal(fence?.stable, "172.17.0.1:17080");
  assert.deepEqual(fence?.rule.slice(0, 3), ["OUTPUT", "-d", "172.17.0.3/32"]);
  assert.ok(fence?.rule.includes("greenlight-fence:web"));
  assert.equal(parseFence(line, "we"), undefined);
  const older = parseFence(line.replace(/-m conntrack .* -m tcp/, "-m tcp"), "web");
  assert.equal(older?.stable, undefined);
});

test("only flows that a reused source port would join are forgotten; TIME_WAIT and CLOSE are replaced by the kernel", () => {
  const flows = parseFlows(
    [
      "tcp      6 117 TIME_WAIT src=172.17.0.1 dst=172.17.0.1 sport=34230 dport=17080 src=172.17.0.3 dst=172.17.0.1 sport=8080 dport=34230 [ASSURED] mark=0 use=1",
      "tcp      6 431999 ESTABLISHED src=172.17.0.1 dst=172.17.0.1 sport=40000 dport=17080 src=172.17.0.3 dst=172.17.0.1 sport=8080 dport=1448 [ASSURED] mark=0 use=1",
      "tcp      6 8 CLOSE src=172.17.0.1 dst=172.17.0.1 sport=40002 dport=17080 src=172.17.0.3 dst=172.17.0.1 sport=8080 dport=40002 mark=0 use=1",
      "tcp      6 60 LAST_ACK src=172.17.0.1 dst=172.17.0.1 sport=40004 dport=17080 src=172.17.0.3 dst=172.17.0.1 sport=8080 dport=40004 mark=0 use=1",
      "conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.",
    ].join("\n"),
  );
  assert.deepEqual(
    flows.map((f) => [f.state, f.sourcePort, isStalled(f)]),
    [
      ["TIME_WAIT", "34230", false],
      ["ESTABLISHED", "40000", true],
      ["CLOSE", "40002", false],
      ["LAST_ACK", "40004", true],
    ],
  );
});

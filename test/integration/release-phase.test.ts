import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { describeLoad, STANDARD_LOAD, startLoad } from "../helpers/load.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let data: string;

before(async () => {
  await stack.ready;
  data = await mkdtemp(join(tmpdir(), "gl-release-data-"));
  site = await Site.start({
    registry: stack.registry.host,
    extra: {
      volumes: [`${data}:/data`],
      // A migration that records itself, once per deploy, in a volume the service shares.
      release_command: [
        "/bin/sh",
        "-c",
        'echo "migrating to $APP_VERSION"; [ -e /data/fail ] && exit 3; echo "$APP_VERSION" >> /data/migrations',
      ],
      release_timeout: "30s",
    },
  });
});

after(async () => {
  await site?.stop();
});

test("the release command runs once per deploy before the switch; failing, nothing switches and nothing fails", async () => {
  const v1 = await stack.image({ version: "rel-v1" });
  const v2 = await stack.image({ version: "rel-v2" });
  const first = await site.deploy(v1);
  assert.equal(first.result?.status, "succeeded", first.stdout + first.stderr);
  const load = await startLoad(site.nginx.url, STANDARD_LOAD);
  const second = await site.deploy(v2);
  assert.equal(second.result?.status, "succeeded", second.stdout + second.stderr);
  const released = second.events.filter((e) => e.step === "release");
  assert.ok(released.some((e) => e.source === "container" && e.message === "migrating to rel-v2"));
  const releaseAt = second.events.findIndex((e) => e.step === "release");
  const startAt = second.events.findIndex((e) => e.step === "start");
  assert.ok(releaseAt >= 0 && releaseAt < startAt, "before the new colour starts");
  assert.deepEqual((await readFile(join(data, "migrations"), "utf8")).trim().split("\n"), [
    "rel-v1",
    "rel-v2",
  ]);

  await import("node:fs/promises").then((fs) => fs.writeFile(join(data, "fail"), ""));
  const v3 = await stack.image({ version: "rel-v3" });
  const failed = await site.deploy(v3);
  const report = await load.stop();
  assert.equal(failed.result?.status, "failed");
  assert.equal(failed.result?.error?.code, "RELEASE_COMMAND_FAILED");
  assert.equal(failed.result?.error?.step, "release");
  assert.ok(
    !failed.events.some((e) => e.step === "start" || e.step === "switch"),
    "nothing started or switched",
  );
  assert.equal(await site.servedVersion(), "rel-v2");
  assert.deepEqual(
    (await site.containers()).map((c) => c.split(":")[1]),
    ["running"],
    "the release command's container is gone; the live colour runs",
  );
  assert.equal(report.failed, 0, describeLoad(report));
});

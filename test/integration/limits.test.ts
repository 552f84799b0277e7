import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { docker } from "../helpers/run.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;

before(async () => {
  await stack.ready;
  site = await Site.start({
    registry: stack.registry.host,
    extra: {
      memory: "64m",
      cpus: 0.5,
      labels: { team: "shop" },
      stop_signal: "SIGQUIT",
      stop_grace: "3s",
      init: true,
    },
  });
});

after(async () => {
  await site?.stop();
});

test("the service's limits, labels and stop settings reach Docker, and only from the agent's config", async () => {
  const run = await site.deploy(await stack.image({ version: "v1" }));
  assert.equal(run.result?.status, "succeeded", run.stdout + run.stderr);
  const name = (await site.containers())[0]?.split(":")[0] ?? "";
  const inspect = JSON.parse(await docker("inspect", name)) as {
    HostConfig: { Memory: number; NanoCpus: number; Init: boolean | null; RestartPolicy: { Name: string } };
    Config: { Labels: Record<string, string>; StopSignal: string; StopTimeout: number };
  }[];
  const info = inspect[0];
  assert.ok(info);
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(info.HostConfig.NanoCpus, 500_000_000);
  assert.equal(info.HostConfig.Init, true, "Docker's init runs as PID 1");
  assert.equal(
    info.HostConfig.RestartPolicy.Name,
    "unless-stopped",
    "a live colour comes back after a reboot",
  );
  assert.equal(info.Config.Labels.team, "shop");
  assert.equal(info.Config.StopSignal, "SIGQUIT");
  assert.equal(info.Config.StopTimeout, 3);
});

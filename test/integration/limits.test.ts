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
      // One image, another process: the entrypoint and command replace the image's, as another user, elsewhere.
      entrypoint: ["/bin/sh", "-c"],
      command: ['echo "as-configured in $(pwd)"; grep db.internal /etc/hosts; exec /start.sh'],
      user: "1000:1000",
      working_dir: "/www",
      hosts: { "db.internal": "10.1.2.3" },
    },
  });
});

after(async () => {
  await site?.stop();
});

test("the service's limits, labels, stop settings, command, user and hosts reach Docker, only from the agent's config", async () => {
  const run = await site.deploy(await stack.image({ version: "v1" }));
  assert.equal(run.result?.status, "succeeded", run.stdout + run.stderr);
  const name = (await site.containers())[0]?.split(":")[0] ?? "";
  const inspect = JSON.parse(await docker("inspect", name)) as {
    HostConfig: {
      Memory: number;
      NanoCpus: number;
      Init: boolean | null;
      RestartPolicy: { Name: string };
      ExtraHosts: string[];
    };
    Config: {
      Labels: Record<string, string>;
      StopSignal: string;
      StopTimeout: number;
      User: string;
      WorkingDir: string;
      Entrypoint: string[];
      Cmd: string[];
    };
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
  assert.equal(info.Config.User, "1000:1000");
  assert.equal(info.Config.WorkingDir, "/www");
  assert.deepEqual(info.Config.Entrypoint, ["/bin/sh", "-c"]);
  assert.deepEqual(info.HostConfig.ExtraHosts, ["db.internal:10.1.2.3"]);
  // The configured command is what ran: its own lines are in the deploy's log.
  const output = run.events.filter((e) => e.source === "container").map((e) => e.message);
  assert.ok(output.includes("as-configured in /www"), output.join("\n"));
  assert.ok(
    output.some((line) => /^10\.1\.2\.3\s+db\.internal$/.test(line)),
    output.join("\n"),
  );
  assert.equal(await site.servedVersion(), "v1");
});

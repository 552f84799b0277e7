import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeKeys, startDaemon, type Keys, type RunningAgent } from "../helpers/daemon.js";
import { ROOT, Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

// The Action's code run the way GitHub's own harness for JS actions runs it (@github/local-action: run()
// imported from action/run.ts, @actions/core replaced by its emulation), against a real agent.
const stack = useStack();
let site: Site;
let keys: Keys;
let agent: RunningAgent;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  keys = await makeKeys(site.dir, "ci");
  agent = await startDaemon(site, [{ name: "ci", public_key_file: `${keys.privateFile}.pub` }]);
});

after(async () => {
  await agent?.stop();
  await site?.stop();
});

function localAction(envFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, "node_modules", ".bin", "local-action"),
      ["run", ROOT, "action/run.ts", envFile],
      { cwd: ROOT, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

test("@github/local-action runs the Action's run() against a real agent: deployed, outputs set", async () => {
  const image = await stack.image({ version: "la-v1" });
  const envFile = join(site.dir, "local-action.env");
  await writeFile(
    envFile,
    [
      `INPUT_AGENTS=${agent.target}`,
      `INPUT_SERVICE=${site.service}`,
      `INPUT_IMAGE=${image}`,
      `INPUT_KEY="${keys.privatePem.trim().replace(/\n/g, "\\n")}"`,
      "INPUT_TIMEOUT=2m",
      "",
    ].join("\n"),
  );
  const run = await localAction(envFile);
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, /Action Outputs/);
  // Its emulation of @actions/core prints the outputs set as a table: 'name' │ 'value'.
  assert.match(run.output, /'result'\s*│\s*'succeeded'/, run.output.slice(-3000));
  assert.match(run.output, /'release'\s*│\s*'1'/);
  assert.match(run.output, /'digest'\s*│\s*'sha256:[a-f0-9]{64}'/);
  assert.equal(await site.servedVersion(), "la-v1");
});

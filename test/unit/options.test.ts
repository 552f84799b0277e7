import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { generateSigningKeys } from "../../shared/signing.js";
import { readActionSettings } from "../../action/options/from-action.js";
import { readCliSettings } from "../../action/options/from-cli.js";
import { closest } from "../../action/options/closest.js";
import { OPTIONS, type OptionSpec } from "../../action/options/table.js";

const actionYml = parse(await import("node:fs").then((fs) => fs.readFileSync("action.yml", "utf8"))) as {
  inputs: Record<string, { default?: string }>;
};

test("every option the table gives the Action is an input of action.yml, with the same default", () => {
  const specs = Object.values(OPTIONS) as OptionSpec[];
  const inputs = specs.filter((spec) => spec.input);
  assert.ok(inputs.length >= 15, "the table names the Action's inputs");
  for (const spec of inputs) {
    const declared = actionYml.inputs[spec.input ?? ""];
    assert.ok(declared, `action.yml declares input ${spec.input}`);
    assert.equal(declared.default, spec.default, `input ${spec.input}'s default`);
  }
  const ownInputs = ["command", "environment", "environment-url", "github-token"];
  const tableInputs = new Set(inputs.map((spec) => spec.input));
  for (const name of Object.keys(actionYml.inputs)) {
    assert.ok(tableInputs.has(name) || ownInputs.includes(name), `input ${name} is read through the table`);
  }
});

test("the CLI and the Action read the same settings from the same values, PEMs inline or from files alike", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gl-options-"));
  const { privatePem } = await generateSigningKeys();
  const keyFile = join(dir, "key.pem");
  const caPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const caFile = join(dir, "ca.pem");
  await writeFile(keyFile, privatePem);
  await writeFile(caFile, caPem);
  const cli = await readCliSettings(
    ["deploy", "--agent", "web-1=wss://a.example:7350", "--key", keyFile, "--ca", caFile, "--batch", "50%"],
    { GREENLIGHT_SERVICE: "web", GREENLIGHT_IMAGE: "r.example/web:1", GREENLIGHT_TIMEOUT: "90s" },
  );
  const inputs: Record<string, string> = {
    agents: "web-1=wss://a.example:7350",
    key: privatePem,
    ca: caPem,
    service: "web",
    image: "r.example/web:1",
    timeout: "90s",
    batch: "50%",
  };
  const action = await readActionSettings((name) => inputs[name] ?? "");
  assert.ok(cli.command !== "help");
  // The Action reads GitHub's own inputs (environment, github-token) besides the table's; none were given here.
  const fromAction = { ...action };
  assert.deepEqual({ ...fromAction, json: false, debug: false }, { ...cli, json: false, debug: false });
  assert.equal(action.timeoutMs, 90_000);
  assert.equal(action.keyPem, `${privatePem.trim()}\n`);
  assert.equal(action.ca?.toString(), caPem);
  assert.equal(action.pauseMs, 0, "the table's default");
  assert.equal(action.rollbackOnFailure, true, "the table's default");
});

test("a mistake names the option as it was given, and a typo gets its likely meaning", async () => {
  await assert.rejects(
    readCliSettings(["deploy", "--agent", "wss://a:1"], {}),
    /deploy needs --key \(or GREENLIGHT_KEY\)/,
  );
  await assert.rejects(
    readActionSettings((name) => ({ agents: "wss://a:1", auth: "oidc", service: "web" })[name] ?? ""),
    /deploy needs input "image"/,
  );
  await assert.rejects(readCliSettings(["deplyo"], {}), /unknown command "deplyo"; did you mean deploy\?/);
  await assert.rejects(
    readCliSettings(["status", "--servce", "web"], {}),
    /unknown option --servce; did you mean --service\?/,
  );
  await assert.rejects(
    readCliSettings(
      ["status", "--agent", "wss://a:1", "--auth", "oidc", "--service", "w", "--timeout", "soon"],
      {},
    ),
    /--timeout \(or GREENLIGHT_TIMEOUT\) "soon" is not a duration/,
  );
  await assert.rejects(
    readActionSettings(
      (name) => ({ agents: "wss://a:1", auth: "oidc", service: "w", strategy: "yolo" })[name] ?? "",
    ),
    /input "strategy" must be rolling or parallel, not "yolo"/,
  );
  await assert.rejects(
    readCliSettings(["status", "--agent", "wss://a:1", "--service", "w", "--key", "/nonexistent/key"], {}),
    /--key \(or GREENLIGHT_KEY\) is neither a PEM .* nor a readable file \(ENOENT\)/,
  );
  assert.equal(closest("rollbak", ["deploy", "rollback", "status"]), "rollback");
  assert.equal(closest("banana", ["deploy", "rollback", "status"]), undefined);
});

test("without a key, a job handed an ID token authenticates with it", async () => {
  const settings = await readCliSettings(["status", "--agent", "wss://a:1", "--service", "web"], {
    GREENLIGHT_ID_TOKEN: "eyJ.x.y",
  });
  assert.ok(settings.command !== "help");
  assert.equal(settings.auth, "oidc");
});

test("each command's --help lists the flags it takes, and only those", async () => {
  const deploy = await readCliSettings(["deploy", "--help"], {});
  assert.deepEqual(deploy, { command: "help", explicit: true, about: "deploy" });
  const { optionsHelp } = await import("../../action/options/from-cli.js");
  const forDeploy = optionsHelp(110, "deploy");
  for (const flag of ["--agent", "--image", "--strategy", "--batch", "--rollback-on-failure", "--detach"])
    assert.match(forDeploy, new RegExp(`^  ${flag} `, "m"), flag);
  for (const flag of ["--to", "--deploy-id", "--out", "--force"])
    assert.doesNotMatch(forDeploy, new RegExp(`^  ${flag} `, "m"), flag);
  const forKeygen = optionsHelp(110, "keygen");
  assert.match(forKeygen, /^ {2}--out PATH/m);
  assert.doesNotMatch(forKeygen, /--agent/);
});

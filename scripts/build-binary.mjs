// The agent as a single executable (Node's single executable applications): this machine's node binary with
// the agent's bundle injected, so a server needs no Node.js installed. Node 20 runs only CommonJS from the
// blob, so the agent is bundled once more as CommonJS for it. Output: build/greenlight-agent-linux-<arch>
// (not committed; the release workflow attaches it to each release with its checksum).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleOptions } from "./bundle-options.mjs";

const out = "build";
const work = join(out, "sea");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const script = join(work, "greenlight-agent.cjs");
await build({
  ...bundleOptions(version),
  entryPoints: ["agent/main.ts"],
  outfile: script,
  format: "cjs",
  // import.meta has no meaning in CommonJS: the one use (where the running agent is) reads this instead.
  define: { ...bundleOptions(version).define, "import.meta.url": "__greenlightUrl" },
  banner: { js: "const __greenlightUrl = require('node:url').pathToFileURL(__filename).href;" },
});

const blob = join(work, "agent.blob");
const config = join(work, "sea-config.json");
writeFileSync(
  config,
  JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
);
execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "inherit" });

const binary = join(out, `greenlight-agent-linux-${process.arch}`);
rmSync(binary, { force: true });
copyFileSync(process.execPath, binary);
execFileSync(
  join("node_modules", ".bin", "postject"),
  [binary, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"],
  // LIEF's "Can't find string offset for section name" notes about the ELF file are harmless; errors still show.
  { stdio: ["ignore", "ignore", "pipe"] },
);
console.log(`${binary}: ${(statSync(binary).size / 1024 / 1024).toFixed(1)} MB (node ${process.version})`);

// Bundles each entry point into one self-contained ESM file in dist/ (committed: a GitHub Action runs from the
// repository as checked out, with no install step).
import { build } from "esbuild";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { bundleOptions } from "./bundle-options.mjs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

const entries = [
  { in: "agent/main.ts", out: "greenlight-agent" },
  { in: "action/cli.ts", out: "greenlight" },
  { in: "action/main.ts", out: "action" },
].filter((entry) => existsSync(entry.in));

await build({
  ...bundleOptions(version),
  entryPoints: entries,
  outdir: "dist",
  format: "esm",
  banner: {
    // CommonJS dependencies (dockerode, ws) call require(); give the ESM bundle one.
    js: "#!/usr/bin/env node\nimport { createRequire as __greenlightRequire } from 'node:module';\nconst require = __greenlightRequire(import.meta.url);\nimport { fileURLToPath as __greenlightPath } from 'node:url';\nconst __filename = __greenlightPath(import.meta.url);\nconst __dirname = __greenlightPath(new URL('.', import.meta.url));",
  },
});

// The bins run as programs (npm links them; the GitLab component calls dist/greenlight.js directly).
for (const entry of entries) chmodSync(`dist/${entry.out}.js`, 0o755);

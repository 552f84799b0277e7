// Bundles each entry point into one self-contained ESM file in dist/ (committed: a GitHub Action runs from the
// repository as checked out, with no install step).
import { build } from "esbuild";
import { chmodSync, existsSync, readFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

// zod exports every locale as `z.locales` (about a quarter of each bundle); greenlight's messages are English
// and never call z.locales, so the bundles get a locales module with English alone.
const englishOnlyZod = {
  name: "english-only-zod",
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: new URL("./stubs/zod-locales.mjs", import.meta.url).pathname }
        : undefined,
    );
  },
};

const entries = [
  { in: "agent/main.ts", out: "greenlight-agent" },
  { in: "action/cli.ts", out: "greenlight" },
  { in: "action/main.ts", out: "action" },
].filter((entry) => existsSync(entry.in));

await build({
  entryPoints: entries,
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  legalComments: "none",
  // ssh2 (pulled in by dockerode for ssh:// hosts, which the agent never uses) has optional native parts.
  external: ["cpu-features", "*.node"],
  alias: {
    ssh2: "./scripts/stubs/ssh2.cjs",
    "@grpc/grpc-js": "./scripts/stubs/buildkit.cjs",
    "@grpc/proto-loader": "./scripts/stubs/buildkit.cjs",
    protobufjs: "./scripts/stubs/buildkit.cjs",
    "readable-stream": "./scripts/stubs/node-stream.cjs",
    "tar-fs": "./scripts/stubs/tar-fs.cjs",
    "@opentelemetry/api": "./scripts/stubs/opentelemetry.cjs",
  },
  define: { __GREENLIGHT_VERSION__: JSON.stringify(version) },
  plugins: [englishOnlyZod],
  minify: true,
  keepNames: true,
  banner: {
    // CommonJS dependencies (dockerode, ws) call require(); give the ESM bundle one.
    js: "#!/usr/bin/env node\nimport { createRequire as __greenlightRequire } from 'node:module';\nconst require = __greenlightRequire(import.meta.url);\nimport { fileURLToPath as __greenlightPath } from 'node:url';\nconst __filename = __greenlightPath(import.meta.url);\nconst __dirname = __greenlightPath(new URL('.', import.meta.url));",
  },
  logLevel: "warning",
});

// The bins run as programs (npm links them; the GitLab component calls dist/greenlight.js directly).
for (const entry of entries) chmodSync(`dist/${entry.out}.js`, 0o755);

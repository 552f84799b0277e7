// What every bundle of greenlight shares: the build of dist/ (scripts/build.mjs) and of the agent's single
// executable (scripts/build-binary.mjs).

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

export function bundleOptions(version) {
  return {
    bundle: true,
    platform: "node",
    target: "node20",
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
      bufferutil: "./scripts/stubs/absent.cjs",
      "utf-8-validate": "./scripts/stubs/absent.cjs",
    },
    define: { __GREENLIGHT_VERSION__: JSON.stringify(version) },
    plugins: [englishOnlyZod],
    minify: true,
    keepNames: true,
    logLevel: "warning",
  };
}

import js from "@eslint/js";
import tseslint from "typescript-eslint";

const leaf = (folder, forbidden) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        // An entry is a pattern, or a pattern and its exceptions ("!…") as one group.
        patterns: forbidden.map((entry) => {
          const group = Array.isArray(entry) ? entry : [entry];
          return { group, message: `${folder} must not depend on ${group.join(" ")}` };
        }),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ["dist/**", "build/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable" } } },
  {
    files: ["scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: { console: "readonly", process: "readonly", URL: "readonly" } },
  },
  ...tseslint.configs.recommended,
  // Bundle stubs stand in for CommonJS packages, in their terms.
  {
    files: ["scripts/stubs/*.cjs"],
    languageOptions: { globals: { require: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  // Tests of neutralisation are about control characters: they spell them out.
  { files: ["test/**/*.ts"], rules: { "no-control-regex": "off" } },
  // Dependencies point one way: action/ → shared/ ← agent/; agent leaves never import the engine.
  leaf("shared", ["**/agent/**", "**/action/**", "node:fs*", "node:net", "node:child_process"]),
  leaf("action", ["**/agent/**"]),
  leaf("agent", ["**/action/**"]),
  // The engine speaks to ports (engine/ports.ts), never to an adapter; agent/compose.ts picks the adapters.
  leaf("agent/engine", [
    "**/runtime/**",
    "**/readiness/**",
    "**/proxy/**",
    "**/switch/**",
    "**/process/**",
    "**/compose.js",
    "**/server/**",
    "**/commands/**",
  ]),
  // Adapters see the engine only through its ports, and one another not at all: a new runtime, proxy or
  // switch is one new folder and one line in compose.ts.
  ...["runtime", "readiness", "proxy", "switch"].map((kind) =>
    leaf(`agent/${kind}`, [
      ["**/engine/**", "!**/engine/ports.js", "!**/engine/step-logger.js"],
      "**/server/**",
      "**/commands/**",
      "**/compose.js",
      ...["runtime", "readiness", "proxy", "switch"]
        .filter((other) => other !== kind)
        .map((other) => `**/${other}/**`),
    ]),
  ),
  leaf("agent/state", ["**/engine/**", "**/server/**", "**/runtime/**", "**/proxy/**", "**/switch/**"]),
);

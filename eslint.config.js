import js from "@eslint/js";
import tseslint from "typescript-eslint";

const leaf = (folder, forbidden) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: forbidden.map((group) => ({
          group: [group],
          message: `${folder} must not depend on ${group}`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable" } } },
  {
    files: ["scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: { console: "readonly", process: "readonly" } },
  },
  ...tseslint.configs.recommended,
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
    "**/docker/**",
    "**/nginx/**",
    "**/traffic/**",
    "**/runtime/**",
    "**/proxy/**",
    "**/compose.js",
    "**/server/**",
  ]),
  leaf("agent/docker", ["**/engine/**", "**/server/**", "**/nginx/**"]),
  leaf("agent/nginx", ["**/engine/**", "**/server/**", "**/docker/**"]),
  leaf("agent/state", ["**/engine/**", "**/server/**", "**/docker/**", "**/nginx/**"]),
);

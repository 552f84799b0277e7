import pkg from "../package.json" with { type: "json" };

/**
 * The version of this build, one number for the CLI, the Action and the agent: package.json's, bundled into
 * dist/ at build time. Client and agent tell each other theirs (`hello`), and say so when they differ.
 */
export const VERSION: string =
  typeof __GREENLIGHT_VERSION__ === "string" ? __GREENLIGHT_VERSION__ : pkg.version;

/** Set by the build (scripts/build.mjs), so the bundles carry the version and not all of package.json. */
declare const __GREENLIGHT_VERSION__: string | undefined;

/** `greenlight 0.2.0 (protocol 1, node v20.19.0)`, for --version and logs. */
export function versionLine(program: string, protocol: number): string {
  return `${program} ${VERSION} (protocol ${protocol}, node ${process.version})`;
}

import { after, before } from "node:test";
import { buildTestApp, type TestAppOptions } from "../fixtures/test-app.js";
import { startRegistry, type Registry } from "./registry.js";
import { docker } from "./run.js";

export interface Stack {
  registry: Registry;
  /** Builds and pushes a test-app image; returns its reference. */
  image(options: TestAppOptions): Promise<string>;
}

/**
 * The real components every integration test runs on: the Docker engine (must answer: a missing engine fails
 * the suite, never skips it) and a private registry, started once per test file.
 */
export function useStack(): Stack {
  const stack = {} as Stack;
  const built = new Map<string, Promise<string>>();
  before(async () => {
    await docker("info", "--format", "{{.ServerVersion}}").catch((error: Error) => {
      throw new Error(`the Docker engine does not answer (run scripts/stack.sh): ${error.message}`);
    });
    stack.registry = await startRegistry();
    stack.image = (options) => {
      const key = JSON.stringify(options);
      let ref = built.get(key);
      if (!ref) {
        ref = buildTestApp(stack.registry.host, options);
        built.set(key, ref);
      }
      return ref;
    };
  });
  after(async () => {
    await stack.registry?.stop();
  });
  return stack;
}

import { after, before } from "node:test";
import { buildTestApp, type TestAppOptions } from "../fixtures/test-app.js";
import { startRegistry, type Registry } from "./registry.js";
import { killLeftoverLoads } from "./load.js";
import { docker } from "./run.js";

export interface Stack {
  registry: Registry;
  /** Builds and pushes a test-app image once per set of options; returns its reference. */
  image(options: TestAppOptions): Promise<string>;
  /** Resolves once the stack is up: a file's own root-level hooks may start before this one finishes. */
  ready: Promise<void>;
}

/**
 * The real components every integration test runs on: the Docker engine (must answer: a missing engine fails
 * the suite, never skips it) and a private registry, started once per test file.
 */
export function useStack(): Stack {
  const built = new Map<string, Promise<string>>();
  const stack = {} as Stack;
  const start = async (): Promise<void> => {
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
  };
  stack.ready = start();
  // Failures surface through the hook below (and every `await stack.ready`), not as an unhandled rejection.
  stack.ready.catch(() => undefined);
  before(() => stack.ready);
  after(async () => {
    killLeftoverLoads();
    await stack.registry?.stop();
  });
  return stack;
}

// The entry the runner starts (dist/action.js); the logic is run() in run.ts.
import { run } from "./run.js";

await run();

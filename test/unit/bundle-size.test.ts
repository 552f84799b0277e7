import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../helpers/site.js";

// What every install downloads and every cold start parses: a dependency that pulls in a whole library for one
// call (a schema library's classic build, an HTTP client) shows here first.
const BUDGETS = { "greenlight.js": 250, "greenlight-agent.js": 600, "action.js": 800 };

test("the bundles stay within their size budgets", async () => {
  for (const [file, kb] of Object.entries(BUDGETS)) {
    const { size } = await stat(join(ROOT, "dist", file));
    assert.ok(size <= kb * 1024, `dist/${file} is ${Math.round(size / 1024)} KB, over its ${kb} KB budget`);
  }
});

// An app that ignores SIGTERM (a server as PID 1 with no handler) costs its whole stop grace at every stop.
// Deploys it N times with and without the service's `init`, under a steady load, and prints what the client
// waits for (the result, reported once the old colour is drained) beside what the stop takes after it (the
// service stays locked until the old colour is gone; before the stop moved after the result, a deploy took
// both). Usage: npm run bench:stop-grace -- [--deploys 10]
import { parseArgs } from "node:util";
import { buildTestApp } from "../test/fixtures/test-app.js";
import { STANDARD_LOAD, startLoad } from "../test/helpers/load.js";
import { startRegistry } from "../test/helpers/registry.js";
import { Site } from "../test/helpers/site.js";
import { median, ms, table } from "./table.js";

const { values } = parseArgs({ options: { deploys: { type: "string", default: "10" } } });
const deploys = Number(values.deploys);
const progress = (line: string) => process.stderr.write(`${line}\n`);

const registry = await startRegistry();
const rows: (string | number)[][] = [];
let stopLoad: (() => Promise<unknown>) | undefined;
try {
  const images = await Promise.all(
    ["v1", "v2"].map((version) => buildTestApp(registry.host, { version, ignoresTerm: true })),
  );
  for (const init of [false, true]) {
    const label = `ignores SIGTERM, init ${init ? "on" : "off"}`;
    progress(`${label}: ${deploys} deploys`);
    const site = await Site.start({ registry: registry.host, extra: { init, stop_grace: "10s" } });
    try {
      await site.deploy(images[0] ?? "");
      const load = await startLoad(site.nginx.url, STANDARD_LOAD);
      stopLoad = () => load.stop();
      const reported: number[] = [];
      const stops: number[] = [];
      for (let i = 0; i < deploys; i += 1) {
        const run = await site.deploy(images[(i + 1) % 2] ?? "");
        if (run.result?.status !== "succeeded") throw new Error(`deploy failed: ${run.stdout}${run.stderr}`);
        reported.push(run.result.durations.total);
        // The agent's CLI exits once the stop is done; the history has its time.
        const record = (await site.history()).find((r) => r.id === run.result?.release);
        stops.push(record?.durations?.stop ?? Number.NaN);
        progress(
          `  deploy ${i + 1}: result after ${ms(reported.at(-1) ?? 0)}, stop ${ms(stops.at(-1) ?? 0)}`,
        );
      }
      const report = await load.stop();
      stopLoad = undefined;
      const whole = reported.map((r, i) => r + (stops[i] ?? 0));
      rows.push([
        label,
        `${report.failed}/${report.requests}`,
        ms(median(reported)),
        ms(median(stops)),
        ms(median(whole)),
      ]);
    } finally {
      // A failed deploy must not leave the load running behind the table.
      await stopLoad?.();
      await site.stop();
    }
  }
} finally {
  await registry.stop();
}

process.stdout.write(
  `\nStop grace: ${deploys} deploys each, stop_grace 10s, under ${STANDARD_LOAD.length} load streams\n\n`,
);
process.stdout.write(
  `${table(
    [
      "app",
      "failed/requests",
      "result after (median)",
      "stop after the result (median)",
      "result + stop (median)",
    ],
    rows,
  )}\n`,
);

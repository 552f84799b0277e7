import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod/mini";
import { Colour, Durations, ErrorBody } from "../../shared/events.js";

export { Colour };
import { writeFileAtomic } from "../files/atomic-write.js";

export function otherColour(colour: Colour): Colour {
  return colour === "blue" ? "green" : "blue";
}

export const ReleaseStatus = z.enum(["in_progress", "live", "retired", "failed", "interrupted"]);
export type ReleaseStatus = z.infer<typeof ReleaseStatus>;

export const ReleaseRecord = z.object({
  id: z.string(),
  deployId: z.string(),
  kind: z.enum(["deploy", "rollback"]),
  image: z.string(),
  digest: z.optional(z.string()),
  colour: Colour,
  status: ReleaseStatus,
  startedAt: z.string(),
  finishedAt: z.optional(z.string()),
  by: z._default(z.record(z.string(), z.string()), {}),
  durations: z.optional(Durations),
  error: z.optional(ErrorBody),
});
export type ReleaseRecord = z.infer<typeof ReleaseRecord>;

const ServiceState = z.object({
  nextId: z.int().check(z.positive()),
  /** The colour nginx was last confirmed to serve, and its release. */
  live: z.nullable(z.object({ colour: Colour, release: z.string() })),
  records: z.array(ReleaseRecord),
});
export type ServiceState = z.infer<typeof ServiceState>;

/** Records that `live` now serves: its release becomes live, the one that served before is retired. */
export function markLive(state: ServiceState, live: { colour: Colour; release: string }): void {
  state.live = live;
  for (const r of state.records) {
    if (r.id === live.release) r.status = "live";
    else if (r.status === "live") r.status = "retired";
  }
}

/** Release history and the live colour of one service, kept in one JSON file written atomically. */
export class ReleaseStore {
  private readonly file: string;

  constructor(
    stateDir: string,
    readonly service: string,
    private readonly keep: number,
  ) {
    this.file = join(stateDir, "services", service, "releases.json");
  }

  async read(): Promise<ServiceState> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { nextId: 1, live: null, records: [] };
      throw error;
    }
    return ServiceState.parse(JSON.parse(text));
  }

  async update(change: (state: ServiceState) => void): Promise<ServiceState> {
    const state = await this.read();
    change(state);
    state.records = prune(state.records, this.keep, state.live?.release);
    await mkdir(join(this.file, ".."), { recursive: true, mode: 0o750 });
    await writeFileAtomic(this.file, `${JSON.stringify(state, null, 2)}\n`);
    return state;
  }

  async history(): Promise<ReleaseRecord[]> {
    return (await this.read()).records;
  }
}

/** Keeps the last `keep` releases that served traffic (rollback targets) and the failures among them. */
function prune(records: ReleaseRecord[], keep: number, liveId: string | undefined): ReleaseRecord[] {
  const served = records.filter((r) => r.status === "live" || r.status === "retired");
  if (served.length <= keep) return records.slice(-keep * 5);
  const oldestKept = served[served.length - keep];
  const cutoff = oldestKept ? records.indexOf(oldestKept) : 0;
  return records.filter((r, index) => index >= cutoff || r.id === liveId);
}

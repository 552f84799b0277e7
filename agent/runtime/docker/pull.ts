import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import { formatImageReference, parseImageReference } from "../../../shared/names.js";
import { dockerMessage, dockerStatus, modemOf, type PullProgress } from "../../docker-api/client.js";

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface PulledImage {
  /** `repo@sha256:…`: what the release records and what a rollback runs. */
  pinned: string;
  digest: string;
  imageId: string;
}

function classify(message: string, ref: string): GreenlightError {
  const lower = message.toLowerCase();
  if (/connection refused|no such host|i\/o timeout|dial tcp|server gave http response|tls: /.test(lower)) {
    return new GreenlightError("REGISTRY_UNREACHABLE", `registry for ${ref} is unreachable: ${message}`);
  }
  if (
    /unauthorized|authentication required|no basic auth credentials|access to the resource is denied/.test(
      lower,
    )
  ) {
    const host = ref.split("/")[0] ?? ref;
    return new GreenlightError(
      "REGISTRY_AUTH_FAILED",
      `the registry refused to serve ${ref} without valid credentials: add ${host} under registries: in the agent's config, or run docker login ${host} as the agent's user (its config.json and credential helpers are read)`,
    );
  }
  if (/manifest unknown|not found|does not exist|repository name not known/.test(lower)) {
    return new GreenlightError("IMAGE_NOT_FOUND", `image ${ref} was not found in its registry: ${message}`);
  }
  return new GreenlightError("PULL_FAILED", `pulling ${ref} failed: ${message}`);
}

/** Where a pull stands: `progress` lines are for people (shown by default), `detail` for --debug. */
export type PullReport = (line: string, kind: "progress" | "detail") => void;

/**
 * Condenses Docker's per-layer, per-chunk events into one line at most every `everyMs` (and one when every
 * layer is done): layers done of layers, and bytes downloaded of bytes to download. Downloaded bytes only grow
 * (a layer's extraction restarts its own counter, which is not counted), and a line is said only when it says
 * more than the last one.
 */
export function condensePullProgress(report: PullReport, everyMs = 1000): (event: PullProgress) => void {
  const layers = new Map<string, { downloaded: number; size: number; done: boolean }>();
  let lastReport = 0;
  let lastLine = "";
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return (event) => {
    // "Pulling from <repo>" carries the tag as its id: a header, not a layer.
    if (!event.id || !event.status || event.status.startsWith("Pulling from")) {
      if (event.status && !event.error) report(event.status, "detail");
      return;
    }
    const layer = layers.get(event.id) ?? { downloaded: 0, size: 0, done: false };
    layers.set(event.id, layer);
    if (event.status === "Downloading" && event.progressDetail?.total) {
      layer.size = event.progressDetail.total;
      layer.downloaded = Math.max(layer.downloaded, event.progressDetail.current ?? 0);
    }
    if (/download complete|verifying checksum/i.test(event.status)) layer.downloaded = layer.size;
    if (/pull complete|already exists/i.test(event.status)) {
      layer.done = true;
      layer.downloaded = layer.size;
    }
    const all = [...layers.values()];
    const finished = all.every((l) => l.done);
    const now = Date.now();
    if (now - lastReport < everyMs && !finished) return;
    const size = all.reduce((sum, l) => sum + l.size, 0);
    const downloaded = all.reduce((sum, l) => sum + l.downloaded, 0);
    const bytes =
      size > 0 ? `, ${mb(downloaded)}/${mb(size)} MB` : finished ? ", all already on this host" : "";
    const line = `${all.filter((l) => l.done).length}/${all.length} layers${bytes}`;
    if (line === lastLine) return;
    lastReport = now;
    lastLine = line;
    report(line, "progress");
  };
}

async function inspectPinned(
  docker: Docker,
  ref: string,
  repository: string,
): Promise<PulledImage | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    const repoDigest = info.RepoDigests?.find((d) => d.startsWith(`${repository}@`));
    if (!repoDigest) return undefined;
    return { pinned: repoDigest, digest: repoDigest.slice(repository.length + 1), imageId: info.Id };
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Pulls `ref` and returns its digest. A reference pinned by digest that is already present is not pulled again,
 * so a rollback works while the registry is down. Registry errors arrive as progress events while the finish
 * callback still reports success; every event is checked.
 */
export async function pullImage(
  docker: Docker,
  ref: string,
  auth: RegistryAuth | undefined,
  onProgress: (event: PullProgress) => void,
): Promise<PulledImage> {
  const parsed = parseImageReference(ref);
  if (!parsed) throw new GreenlightError("INVALID_ARGUMENT", `"${ref}" is not an image reference`);
  if (parsed.digest) {
    const local = await inspectPinned(docker, ref, parsed.repository);
    if (local) return local;
  }
  const target = parsed.digest || parsed.tag ? ref : formatImageReference({ ...parsed, tag: "latest" });
  await new Promise<void>((resolve, reject) => {
    docker.pull(
      target,
      auth ? { authconfig: auth } : {},
      (error: unknown, stream?: NodeJS.ReadableStream) => {
        if (error || !stream) {
          // The engine itself did not answer: not a registry problem; the caller says so in its own terms.
          const socketError = ["ECONNREFUSED", "ENOENT", "EACCES"].includes(
            (error as NodeJS.ErrnoException)?.code ?? "",
          );
          reject(socketError ? error : classify(dockerMessage(error), target));
          return;
        }
        let failure: GreenlightError | undefined;
        modemOf(docker).followProgress(
          stream as import("node:stream").Readable,
          (finishError) => {
            if (failure) reject(failure);
            else if (finishError) reject(classify(dockerMessage(finishError), target));
            else resolve();
          },
          (event) => {
            if (event.error || event.errorDetail) {
              failure ??= classify(event.errorDetail?.message ?? event.error ?? "unknown error", target);
              return;
            }
            onProgress(event);
          },
        );
      },
    );
  });
  const pulled = await inspectPinned(docker, target, parsed.repository);
  if (!pulled) {
    throw new GreenlightError(
      "PULL_FAILED",
      `pulled ${target} but Docker reports no digest for ${parsed.repository}`,
    );
  }
  return pulled;
}

/**
 * Names that end up in container names, file paths and nginx config. Anything outside these shapes is refused
 * before it reaches Docker or disk, so no request can inject config or escape a directory.
 */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** An agent's identity: requests are bound to it (`aud`), and keyless audiences are made of it. */
export const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/**
 * Shapes of what an agent reports back (and the Action sets as step outputs, which workflows pass to shells):
 * nothing outside them is accepted from an agent, so no value can carry quotes, spaces or line breaks.
 */
export const RELEASE_ID = /^[0-9]{1,12}$/;
export const DEPLOY_ID = /^[A-Za-z0-9-]{1,64}$/;
export const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;
export const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

const REPOSITORY =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface ImageReference {
  repository: string;
  tag?: string;
  digest?: string;
}

export function isServiceName(name: string): boolean {
  return SERVICE_NAME.test(name);
}

/** Parses `repo[:tag][@sha256:…]`; returns undefined for anything that is not a plain image reference. */
export function parseImageReference(ref: string): ImageReference | undefined {
  if (ref.length > 512 || /\s/.test(ref)) return undefined;
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) return undefined;
  }
  if (!REPOSITORY.test(rest)) return undefined;
  const parsed: ImageReference = { repository: rest };
  if (tag !== undefined) parsed.tag = tag;
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

export function formatImageReference(image: ImageReference): string {
  return `${image.repository}${image.tag ? `:${image.tag}` : ""}${image.digest ? `@${image.digest}` : ""}`;
}

/** The registry host of a repository (`127.0.0.1:5000/web` → `127.0.0.1:5000`), or Docker Hub. */
export function registryOf(repository: string): string {
  const first = repository.split("/")[0] ?? "";
  return repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : "docker.io";
}

import { randomBytes } from "node:crypto";
import { GreenlightError } from "../../shared/errors.js";
import { parseImageReference } from "../../shared/names.js";
import type { ServicePorts } from "./ports.js";

export interface ReleaseRequest {
  deployId: string;
  kind: "deploy" | "rollback";
  image: string;
  /** The image by digest, when an app's deploy pulled it already: every service runs the same bytes. */
  pinned?: string;
  /** Who asked: key name, CI repository, commit, actor, run URL. Recorded with the release. */
  by: Record<string, string>;
  signal?: AbortSignal;
}

export function newDeployId(): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `d${stamp}-${randomBytes(3).toString("hex")}`;
}

/** The image must live in the service's own repository: the agent never runs anything else. */
export function assertImageAllowed(ports: Pick<ServicePorts, "name" | "config">, image: string): void {
  const parsed = parseImageReference(image);
  if (!parsed) {
    throw new GreenlightError(
      "INVALID_ARGUMENT",
      `"${image.slice(0, 200)}" is not an image reference (repo[:tag][@sha256:…])`,
    );
  }
  if (parsed.repository !== ports.config.image) {
    throw new GreenlightError(
      "POLICY_IMAGE_NOT_ALLOWED",
      `service ${ports.name} may only run images from ${ports.config.image}, not ${parsed.repository}`,
    );
  }
}

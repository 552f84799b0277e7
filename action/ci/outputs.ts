import { z } from "zod";
import { GreenlightError } from "../../shared/errors.js";
import { DEPLOY_ID, ERROR_CODE, IMAGE_DIGEST, RELEASE_ID } from "../../shared/names.js";
import type { HostReport } from "../fleet/fleet.js";

/**
 * The step's outputs, each with the one shape it may have. Workflows pass outputs on to shells and other
 * actions, so a value from the agent that does not have its shape is refused, never set; empty means "none".
 */
const optional = (shape: RegExp) => z.string().regex(shape).or(z.literal(""));

const HostOutput = z
  .object({
    host: z.string().regex(/^[A-Za-z0-9._:[\]-]{1,300}$/),
    status: z.enum([
      "succeeded",
      "failed",
      "rolled_back",
      "reverted",
      "not_started",
      "unreachable",
      "rejected",
    ]),
    release: z.string().regex(RELEASE_ID).optional(),
    digest: z.string().regex(IMAGE_DIGEST).optional(),
    deployId: z.string().regex(DEPLOY_ID).optional(),
    error: z.string().regex(ERROR_CODE).optional(),
  })
  .strict();

export const ActionOutputs = z
  .object({
    result: z.enum(["succeeded", "failed", "rolled_back"]),
    "deploy-id": optional(DEPLOY_ID).optional(),
    release: optional(RELEASE_ID).optional(),
    digest: optional(IMAGE_DIGEST).optional(),
    "previous-release": optional(RELEASE_ID).optional(),
    "attempted-release": optional(RELEASE_ID).optional(),
    duration: optional(/^[0-9]{1,12}$/).optional(),
    hosts: z.array(HostOutput).optional(),
  })
  .strict();
export type ActionOutputs = z.input<typeof ActionOutputs>;

export function hostOutput(host: HostReport): z.input<typeof HostOutput> {
  return {
    host: host.host,
    status: host.status,
    release: host.revert?.release ?? host.result?.release,
    digest: host.result?.digest,
    deployId: host.result?.deployId,
    error: host.result?.error?.code ?? host.error?.code,
  };
}

/** Checks every output against its shape, then sets them all; one that does not fit sets none. */
export function setOutputs(outputs: ActionOutputs, set: (name: string, value: string) => void): void {
  const parsed = ActionOutputs.safeParse(outputs);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GreenlightError(
      "PROTOCOL_ERROR",
      `refusing to set output ${issue?.path.join(".") ?? "?"}: the agent's value does not have its shape (${issue?.message ?? "invalid"})`,
    );
  }
  for (const [name, value] of Object.entries(parsed.data)) {
    if (value !== undefined) set(name, typeof value === "string" ? value : JSON.stringify(value));
  }
}

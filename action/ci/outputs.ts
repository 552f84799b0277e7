import * as z from "zod/mini";
import "../../shared/zod-messages.js";
import { GreenlightError } from "../../shared/errors.js";
import { DEPLOY_ID, ERROR_CODE, IMAGE_DIGEST, RELEASE_ID } from "../../shared/names.js";
import type { HostReport } from "../fleet/fleet.js";

/**
 * The step's outputs, each with the one shape it may have. Workflows pass outputs on to shells and other
 * actions, so a value from the agent that does not have its shape is refused, never set; empty means "none".
 */
const optional = (shape: RegExp) => z.union([z.string().check(z.regex(shape)), z.literal("")]);

const HostOutput = z.strictObject({
  host: z.string().check(z.regex(/^[A-Za-z0-9._:[\]-]{1,300}$/)),
  status: z.enum([
    "succeeded",
    "failed",
    "rolled_back",
    "reverted",
    "not_started",
    "unreachable",
    "rejected",
  ]),
  release: z.optional(z.string().check(z.regex(RELEASE_ID))),
  digest: z.optional(z.string().check(z.regex(IMAGE_DIGEST))),
  deployId: z.optional(z.string().check(z.regex(DEPLOY_ID))),
  error: z.optional(z.string().check(z.regex(ERROR_CODE))),
});

export const ActionOutputs = z.strictObject({
  result: z.enum(["succeeded", "failed", "rolled_back"]),
  "deploy-id": z.optional(optional(DEPLOY_ID)),
  release: z.optional(optional(RELEASE_ID)),
  digest: z.optional(optional(IMAGE_DIGEST)),
  "previous-release": z.optional(optional(RELEASE_ID)),
  "attempted-release": z.optional(optional(RELEASE_ID)),
  duration: z.optional(optional(/^[0-9]{1,12}$/)),
  hosts: z.optional(z.array(HostOutput)),
});
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

import { GreenlightError } from "../../shared/errors.js";
import type { RequestClaims } from "../../shared/protocol.js";
import { findService, type AgentConfig } from "../config/schema.js";

/** Who a verified request speaks for: a trusted key or a CI identity. */
export interface Principal {
  name: string;
  /** Services it may act on; undefined means all. */
  services: string[] | undefined;
}

/**
 * What a verified key may do: act on a configured service it is allowed, deploy only images of that service's
 * repository. Checked before any lock is taken or anything touched.
 */
export function authorize(claims: RequestClaims, key: Principal, config: AgentConfig): void {
  if (!findService(config, claims.service)) {
    throw new GreenlightError(
      "UNKNOWN_SERVICE",
      `no service named "${claims.service.slice(0, 64)}" on this agent`,
    );
  }
  if (key.services && !key.services.includes(claims.service)) {
    throw new GreenlightError(
      "POLICY_SERVICE_NOT_ALLOWED",
      `${key.name} may not act on service ${claims.service}`,
    );
  }
  if (claims.cmd === "deploy" && !claims.image) {
    throw new GreenlightError("INVALID_ARGUMENT", "a deploy request needs an image");
  }
  if (claims.cmd === "attach" && !claims.deployId) {
    throw new GreenlightError("INVALID_ARGUMENT", "an attach request needs a deploy id");
  }
}

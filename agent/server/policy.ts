import { GreenlightError } from "../../shared/errors.js";
import type { RequestClaims } from "../../shared/protocol.js";
import { findApp, findService, type AgentConfig } from "../config/schema.js";

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
  const app = findApp(config, claims.service);
  if (!app && !findService(config, claims.service)) {
    throw new GreenlightError(
      "UNKNOWN_SERVICE",
      `no service or app named "${claims.service.slice(0, 64)}" on this agent`,
    );
  }
  if (app && claims.cmd !== "deploy" && claims.cmd !== "attach") {
    throw new GreenlightError(
      "INVALID_ARGUMENT",
      `${claims.service} is an app: ${claims.cmd} acts on one service; name one of ${app.services.join(", ")}`,
    );
  }
  // An app is allowed by its own name, or when every one of its services is.
  const allowed = (services: string[]) =>
    services.includes(claims.service) ||
    (app !== undefined && app.services.every((s) => services.includes(s)));
  if (key.services && !allowed(key.services)) {
    throw new GreenlightError(
      "POLICY_SERVICE_NOT_ALLOWED",
      `${key.name} may not act on ${app ? `app ${claims.service} (${app.services.join(", ")})` : `service ${claims.service}`}`,
    );
  }
  if (claims.cmd === "deploy" && !claims.image) {
    throw new GreenlightError("INVALID_ARGUMENT", "a deploy request needs an image");
  }
  if (claims.cmd === "attach" && !claims.deployId) {
    throw new GreenlightError("INVALID_ARGUMENT", "an attach request needs a deploy id");
  }
}

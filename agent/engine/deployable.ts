import type { AppConfig } from "../config/schema.js";
import { runAppRelease } from "./app-release.js";
import type { Deployable } from "./deploys.js";
import type { ServicePorts } from "./ports.js";
import { runReleasePlan } from "./release.js";

/** One service: its release plan. */
export function serviceRelease(ports: ServicePorts): Deployable {
  return {
    name: ports.name,
    release: (request, sink, options) => runReleasePlan(ports, request, sink, options),
  };
}

/** An app: its services' plans in order, the release command once before them. */
export function appRelease(name: string, app: AppConfig, services: ServicePorts[]): Deployable {
  return {
    name,
    release: (request, sink, options) => runAppRelease({ name, app, services }, request, sink, options),
  };
}

import type { ServiceConfig } from "../config-schema.js";
import type { Proxy } from "../engine/ports.js";
import type { StepLogger } from "../engine/step-logger.js";
import { exists } from "../fs-probe.js";
import type { NginxController } from "../nginx/controller.js";
import { ensureServerBlock } from "../nginx/server-block.js";
import { verifyThroughProxy } from "./verify.js";

/** nginx in front of a service: the server block rendered from the config, and a request through it. */
export class NginxProxy implements Proxy {
  readonly verify?: (signal?: AbortSignal) => Promise<string>;

  constructor(
    private readonly nginx: NginxController,
    private readonly service: string,
    private readonly upstreamName: string,
    private readonly config: ServiceConfig,
  ) {
    const verify = config.verify;
    if (verify) this.verify = (signal) => verifyThroughProxy(verify, signal);
  }

  prepare(log: StepLogger): Promise<void> {
    return ensureServerBlock(this.nginx, this.service, this.upstreamName, this.config.nginx.server, log);
  }

  hasUpstream(): Promise<boolean> {
    return exists(this.config.nginx.upstream_file);
  }
}

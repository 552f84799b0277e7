import * as z from "zod/mini";
import "../../shared/zod-messages.js";
import { parseDuration } from "../../shared/duration.js";
import { AGENT_ID, SERVICE_NAME, isServiceName, parseImageReference } from "../../shared/names.js";
import { parseTrustedProxy } from "./address-block.js";

/*
 * zod's mini build: the same checks and messages as the classic API, as functions instead of methods, so the
 * agent's bundle carries only the checks it uses.
 */

/** A custom problem of a transform, at `path` below the value (a transform has no addIssue of its own). */
function issue(payload: z.core.ParsePayload, message: string, path: PropertyKey[] = []): void {
  payload.issues.push({ code: "custom", message, input: payload.value, path });
}

const duration = z.pipe(
  z.string(),
  z.transform((text: string, payload) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      issue(payload, `"${text}" is not a duration (use 500ms, 30s, 5m)`);
      return z.NEVER;
    }
    return ms;
  }),
);

const command = z.array(z.string().check(z.minLength(1))).check(z.minLength(1));
const absolute = (message?: string) => z.string().check(z.startsWith("/", message));
const port = (min: number) => z.int().check(z.minimum(min), z.maximum(65535));

/** `host:port` for a listener: a name or IPv4 address, or [IPv6]; port 0 picks a free one. */
const listenAddress = z.string().check(
  z.refine((text) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
    return match !== null && Number(match[2]) <= 65535;
  }, "use host:port, e.g. 127.0.0.1:7350 or [::1]:7350"),
);

const memory = z.pipe(
  z.union([
    z.int().check(z.positive()),
    z.string().check(z.regex(/^\d+(?:[kmg]b?)?$/i, "use bytes or 512m, 1g")),
  ]),
  z.transform((value: number | string) => {
    if (typeof value === "number") return value;
    const match = /^(\d+)([kmg])?/i.exec(value);
    const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match?.[2] ?? "").toLowerCase()] ?? 1;
    return Number(match?.[1]) * scale;
  }),
);

/** A whole nginx server block rendered from the config, so a new site needs no hand-written nginx config. */
const ServerBlock = z.strictObject({
  /** Where the block is written: a file nginx includes in its http context (conf.d/*.conf). */
  file: absolute("must be an absolute path"),
  server_names: z
    .array(z.string().check(z.regex(/^[A-Za-z0-9.*_-]+$/, "a host name, or *.example.com")))
    .check(z.minLength(1)),
  /** Defaults to 443 with tls, else 80. */
  listen: z.optional(port(1)),
  tls: z.optional(
    z.strictObject({
      cert: absolute(),
      key: absolute(),
      /** Also answer plain HTTP on port 80 with a redirect to HTTPS. */
      redirect_http: z._default(z.boolean(), true),
    }),
  ),
  /** Pass WebSocket upgrades through, and let such connections stay open. */
  websocket: z._default(z.boolean(), false),
  client_max_body_size: z._default(z.string().check(z.regex(/^\d+[kmg]?$/i, "like 10m")), "10m"),
});
export type ServerBlock = z.infer<typeof ServerBlock>;

const NginxConfig = z.strictObject({
  upstream_file: absolute("must be an absolute path"),
  upstream_name: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_]+$/))),
  /** Host nginx: commands run on the host. Ignored when `container` is set. */
  test: z._default(command, ["nginx", "-t"]),
  reload: z._default(command, ["nginx", "-s", "reload"]),
  /** The master's pid file, read to confirm that the new generation of workers is serving. */
  pid_file: z._default(z.string(), "/run/nginx.pid"),
  /** nginx running in a container: tested with `docker exec … nginx -t`, reloaded with SIGHUP. */
  container: z.optional(z.string()),
  /** Deadline for the new worker generation to take over after a reload. */
  confirm_timeout: z._default(duration, 10_000),
  server: z.optional(ServerBlock),
});

/** `200-399`, or one status: the answers a health check takes as healthy. */
const statusRange = z.pipe(
  z.union([z.int(), z.string().check(z.regex(/^\d{3}(-\d{3})?$/, "a status or a range, e.g. 200-399"))]),
  z.transform((value: number | string): [number, number] => {
    const [low, high] = String(value).split("-").map(Number);
    return [low ?? 200, high ?? low ?? 299];
  }),
);

const HealthConfig = z
  .strictObject({
    path: z._default(absolute(), "/"),
    /** Statuses that mean healthy (HTTP checks). */
    status: z._default(statusRange, [200, 299]),
    /** The Host header of the HTTP check, for an app that answers only to its own name. */
    host: z.optional(z.string().check(z.regex(/^[A-Za-z0-9.:-]+$/, "a host name"))),
    /** Ready when the port accepts a connection: for services that do not speak HTTP. */
    tcp: z._default(z.boolean(), false),
    /** Ready when the image's own HEALTHCHECK passes (Docker's health status). */
    docker: z._default(z.boolean(), false),
    interval: z._default(duration, 1000),
    timeout: z._default(duration, 60_000),
    request_timeout: z._default(duration, 2000),
  })
  .check(z.refine((health) => !(health.tcp && health.docker), "choose one of health.tcp and health.docker"));

/**
 * After the switch, a request through the proxy itself (nginx's own address, with the site's Host): proves the
 * path users take reaches the new colour. Failing it switches back to the old colour, which still runs.
 */
const VerifyConfig = z.strictObject({
  url: z.url(),
  host: z.optional(z.string()),
  /** Tries before giving up, one every interval. */
  attempts: z._default(z.int().check(z.minimum(1), z.maximum(20)), 3),
  interval: z._default(duration, 500),
  request_timeout: z._default(duration, 2000),
});

const SwitchConfig = z.strictObject({
  /** nat: a kernel rule below nginx moves between colours (no reload per deploy); reload: rewrite + reload. */
  mode: z.optional(z.enum(["nat", "reload"])),
  /** NAT mode's stable port on the network gateway; derived from the service name when absent. */
  port: z.optional(port(1024)),
  iptables: z._default(z.string(), "iptables"),
  conntrack: z._default(z.string(), "conntrack"),
  /** nftables' CLI: sets the timeout policy that makes conntrack forget the stable address's closed flows. */
  nft: z._default(z.string(), "nft"),
});

/** Swarm's own update settings (`update_config`), exposed as they are: each batch of tasks replaced and watched. */
const SwarmUpdate = z.strictObject({
  parallelism: z._default(z.int().check(z.minimum(1)), 1),
  delay: z._default(duration, 0),
  /** How long Swarm watches each new task for a failure before it counts the task as updated. */
  monitor: z._default(duration, 5000),
  max_failure_ratio: z._default(z.number().check(z.minimum(0), z.maximum(1)), 0),
  /** start-first: a new task runs before the old one stops (no gap); stop-first for a singleton. */
  order: z._default(z.enum(["start-first", "stop-first"]), "start-first"),
  /** How long a deploy follows Swarm's update (or its rollback) before it gives up following. */
  timeout: z._default(duration, 600_000),
});

/**
 * `runtime: swarm`: the service is a Docker Swarm service on this manager. A deploy is Swarm's own rolling
 * update to the new image's digest; Swarm rolls back by itself when new tasks fail.
 */
const SwarmConfig = z.strictObject({
  /**
   * The port Swarm's routing mesh publishes a web service on; nginx on this host proxies to it. Without it,
   * greenlight's NAT rule routes to the service's tasks, which then run on this node.
   */
  publish: z.optional(port(1024)),
  update: z._default(SwarmUpdate, {
    parallelism: 1,
    delay: 0,
    monitor: 5000,
    max_failure_ratio: 0,
    order: "start-first",
    timeout: 600_000,
  }),
  /**
   * Routed by greenlight (no publish): a task Swarm stops is held (its stop signal a no-op) until greenlight has
   * drained it by its connections, then gets stop_signal. false: Swarm stops it itself 2 s after it leaves the
   * rule, cutting requests still in flight then.
   */
  drain_tasks: z._default(z.boolean(), true),
  /** Overlay networks (by name) the tasks join, besides the routing mesh. */
  networks: z._default(z.array(z.string()), []),
  /** Swarm secrets and configs by name, mounted at /run/secrets/<name> and /<name>. */
  secrets: z._default(z.array(z.string()), []),
  configs: z._default(z.array(z.string()), []),
});
export type SwarmConfig = z.output<typeof SwarmConfig>;

export const NOTIFY_EVENTS = ["started", "succeeded", "failed", "rolled_back"] as const;

/** A URL told about deploys: Slack-compatible `{ "text": … }` by default, or the full event as JSON. */
const Webhook = z.strictObject({
  url: z.url(),
  format: z._default(z.enum(["slack", "json"]), "slack"),
  events: z._default(z.array(z.enum(NOTIFY_EVENTS)), [...NOTIFY_EVENTS]),
  /** Extra headers (an API token, say); values are never logged. */
  headers: z._default(z.record(z.string(), z.string()), {}),
  /** Retries after a failed delivery, waiting retry_delay, then 4× as long each time. */
  retries: z._default(z.int().check(z.minimum(0), z.maximum(10)), 3),
  retry_delay: z._default(duration, 1000),
});
export type Webhook = z.infer<typeof Webhook>;

const Notify = z.strictObject({ webhooks: z._default(z.array(Webhook), []) });

const ServiceFields = z.strictObject({
  image: z.string().check(
    z.refine((ref) => {
      const parsed = parseImageReference(ref);
      return parsed !== undefined && !parsed.tag && !parsed.digest;
    }, "must be a repository without tag or digest, e.g. 127.0.0.1:5000/web"),
  ),
  /** docker: blue/green containers on this host; swarm: a Swarm service, rolled by Swarm (see `swarm`). */
  runtime: z._default(z.enum(["docker", "swarm"]), "docker"),
  swarm: z.optional(SwarmConfig),
  /** web: takes HTTP traffic through nginx (needs port and nginx); worker: no port, no proxy, no switch. */
  kind: z._default(z.enum(["web", "worker"]), "web"),
  port: z.optional(port(1)),
  /** Containers per colour: traffic is spread over all of the live colour's (workers: that many run). */
  replicas: z._default(z.int().check(z.minimum(1), z.maximum(32)), 1),
  /** A worker is ready once it has run this long without exiting (when its image has no HEALTHCHECK). */
  ready_after: z._default(duration, 5000),
  /**
   * A worker's old and new release run side by side for a moment (true), or the old one stops before the new
   * one starts (false: schedulers, consumers that must never run twice).
   */
  overlap: z._default(z.boolean(), true),
  notify: z.optional(Notify),
  /**
   * What the service's containers (<name>-blue, <name>-green), NAT chain and stable port are named after;
   * the service name when absent. Set it when several agents share one Docker engine.
   */
  container_name: z.optional(
    z
      .string()
      .check(z.regex(SERVICE_NAME, "use a-z, 0-9, _ and - (at most 63, starting with a letter or digit)")),
  ),
  /**
   * Run once per deploy in a container of the new image, before anything starts or switches (migrations);
   * a non-zero exit fails the deploy with the old release serving.
   */
  release_command: z.optional(command),
  release_timeout: z._default(duration, 600_000),
  /** The container's command and entrypoint instead of the image's (one image as web and as worker). */
  command: z.optional(command),
  entrypoint: z.optional(command),
  /** The user the process runs as (name, uid or uid:gid), instead of the image's. */
  user: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?$/, "a name or uid, optionally :group")),
  ),
  working_dir: z.optional(absolute("must be an absolute path")),
  /** Extra /etc/hosts entries: name → address (host-gateway: the host itself). */
  hosts: z._default(
    z.record(
      z.string().check(z.regex(/^[A-Za-z0-9.-]+$/, "a host name")),
      z.string().check(z.regex(/^(host-gateway|[0-9A-Fa-f:.]+)$/, "an IP address or host-gateway")),
    ),
    {},
  ),
  env: z._default(
    z.record(z.string(), z.pipe(z.union([z.string(), z.number(), z.boolean()]), z.transform(String))),
    {},
  ),
  env_file: z.optional(z.string()),
  volumes: z._default(
    z.array(z.string().check(z.regex(/^[^:]+:[^:]+(?::(?:ro|rw))?$/, "use host:container[:ro]"))),
    [],
  ),
  network: z._default(z.string(), "bridge"),
  memory: z.optional(memory),
  cpus: z.optional(z.number().check(z.positive())),
  stop_signal: z._default(z.string().check(z.regex(/^SIG[A-Z0-9]+$/)), "SIGTERM"),
  stop_grace: z._default(duration, 10_000),
  keep_releases: z._default(z.int().check(z.minimum(1)), 10),
  verify: z.optional(VerifyConfig),
  health: z._default(HealthConfig, {
    path: "/",
    status: [200, 299],
    tcp: false,
    docker: false,
    interval: 1000,
    timeout: 60_000,
    request_timeout: 2000,
  }),
  drain: z._default(duration, 30_000),
  lock_timeout: z._default(duration, 600_000),
  labels: z._default(z.record(z.string(), z.string()), {}),
  /**
   * Run Docker's init as PID 1: it forwards the stop signal to the app, so an app that ignores SIGTERM as PID 1
   * (no handler, as many images have) stops at once instead of after the whole stop_grace.
   */
  init: z._default(z.boolean(), false),
  nginx: z.optional(NginxConfig),
  switch: z.optional(SwitchConfig),
});

type ServiceFields = z.output<typeof ServiceFields>;
type CommonFields = Omit<ServiceFields, "kind" | "port" | "nginx" | "switch">;
type SwitchSettings = z.output<typeof SwitchConfig>;
/** A service that takes HTTP traffic: its colours behind nginx, moved between by a switch. */
export type WebService = CommonFields & {
  kind: "web";
  port: number;
  nginx: NginxConfig;
  switch: SwitchSettings & { mode: "nat" | "reload" };
};
/** A service that takes no traffic (queue consumers, schedulers): started, found ready, the old one stopped. */
export type WorkerService = CommonFields & { kind: "worker" };

const ServiceConfig = z.pipe(
  ServiceFields,
  z.transform((service: ServiceFields, payload): WebService | WorkerService => {
    const { port, nginx, kind, ...common } = service;
    if (common.runtime !== "swarm" && common.swarm !== undefined)
      issue(payload, "swarm settings need runtime: swarm", ["swarm"]);
    if (kind === "worker") {
      for (const key of ["port", "nginx", "switch", "verify"] as const) {
        if (service[key] === undefined) continue;
        issue(payload, `a worker takes no traffic: remove ${key} (or set kind: web)`, [key]);
      }
      return { ...common, kind };
    }
    for (const [key, value] of [
      ["port", port],
      ["nginx", nginx],
    ] as const) {
      if (value !== undefined) continue;
      issue(payload, `a web service needs ${key}; a service without one is kind: worker`, [key]);
    }
    if (port === undefined || nginx === undefined) return z.NEVER;
    if (common.runtime === "swarm") {
      // Either Swarm's routing mesh moves traffic (nginx proxies to the published port, nothing switches), or
      // greenlight's NAT rule follows the tasks on this host; an nginx reload could not follow a task Swarm
      // restarts between deploys.
      if (common.swarm?.publish !== undefined && service.switch !== undefined)
        issue(
          payload,
          "a Swarm service published on the routing mesh is not switched: remove switch, or swarm.publish to let greenlight's NAT rule route to the tasks",
          ["switch"],
        );
      if (service.switch?.mode === "reload")
        issue(
          payload,
          "a Swarm service is routed by the NAT rule (or Swarm's routing mesh with swarm.publish), not by reloads",
          ["switch", "mode"],
        );
      if (nginx.container)
        issue(payload, "a Swarm service needs nginx on the host (it proxies to this host's addresses)", [
          "nginx",
        ]);
    }
    const switching = service.switch ?? { iptables: "iptables", conntrack: "conntrack", nft: "nft" };
    // NAT mode rewrites connections the host itself opens; an nginx container's go through another netns.
    const mode = switching.mode ?? (nginx.container ? "reload" : "nat");
    if (mode === "nat" && nginx.container) {
      issue(payload, "NAT mode needs nginx on the host; with nginx.container use switch.mode: reload", [
        "switch",
        "mode",
      ]);
    }
    return { ...common, kind, port, nginx, switch: { ...switching, mode } };
  }),
);

/**
 * Several services of one app, deployed by one request from one image: the release command once, then each
 * service in the listed order; a failure puts the ones already deployed back on their previous release.
 */
const AppConfig = z.strictObject({
  services: z.array(z.string()).check(z.minLength(1)),
  release_command: z.optional(command),
  /** Whose env, volumes, network and user the release command runs with; the first service by default. */
  release_service: z.optional(z.string()),
  release_timeout: z._default(duration, 600_000),
});
export type AppConfig = z.infer<typeof AppConfig>;

const RegistryAuth = z
  .strictObject({
    username: z.string(),
    password: z.optional(z.string()),
    password_file: z.optional(z.string()),
  })
  .check(
    z.refine(
      (auth) => auth.password !== undefined || auth.password_file !== undefined,
      "set password or password_file",
    ),
  );

const TrustedKey = z
  .strictObject({
    /** Shown in logs, the audit log and release history. */
    name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/)),
    public_key_file: z.optional(z.string()),
    public_key: z.optional(z.string()),
    /** Services this key may act on; all when absent. */
    services: z.optional(z.array(z.string())),
  })
  .check(
    z.refine(
      (key) => (key.public_key_file === undefined) !== (key.public_key === undefined),
      "set exactly one of public_key_file or public_key",
    ),
  );

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function httpsOrLoopback(value: string): boolean {
  const url = new URL(value);
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

/** `owner/…`: the owner (or top-level group) is fixed, whatever glob follows. */
const fixedOwner = (value: string) => /^[^*?/]+\/./.test(value);
const exact = (value: string) => value.length > 0 && !/[*?]/.test(value);

/**
 * Issuers anyone can get tokens from (every repository on GitHub, every project on gitlab.com): an entry for one
 * must pin whose tokens it trusts, or any stranger's pipeline could deploy.
 */
const SHARED_ISSUERS: Record<
  string,
  { what: string; hint: string; claims: { name: string; pins: (v: string) => boolean }[] }
> = {
  "https://token.actions.githubusercontent.com": {
    what: "repository",
    hint: "repository exactly (acme/shop) or with a fixed owner (acme/*), or repository_id / repository_owner_id",
    claims: [
      { name: "repository", pins: fixedOwner },
      { name: "repository_id", pins: exact },
      { name: "repository_owner_id", pins: exact },
    ],
  },
  "https://gitlab.com": {
    what: "project",
    hint: "project_path exactly (acme/shop) or with a fixed group (acme/*), or project_id / namespace_id",
    claims: [
      { name: "project_path", pins: fixedOwner },
      { name: "project_id", pins: exact },
      { name: "namespace_id", pins: exact },
    ],
  },
};

/** A CI identity provider whose signed ID tokens this agent accepts (GitHub Actions, GitLab, …). */
const OidcTrust = z
  .strictObject({
    /** Shown in logs and release history; defaults to the issuer's host. */
    name: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/))),
    issuer: z
      .url()
      .check(z.refine(httpsOrLoopback, "the issuer must be an https URL (plain http only on loopback)")),
    /** The `aud` the token must carry; defaults to greenlight:<agent id>. */
    audience: z.optional(z.string().check(z.minLength(1))),
    /** Where the issuer publishes its keys; found by OpenID discovery when absent. */
    jwks_url: z.optional(
      z.url().check(z.refine(httpsOrLoopback, "jwks_url must be an https URL (plain http only on loopback)")),
    ),
    /** Claims the token must carry, each exact or a glob (`*` any run of characters, `?` one). */
    claims: z
      .record(z.string(), z.string())
      .check(
        z.refine(
          (claims) => Object.keys(claims).length > 0,
          "name at least one claim (e.g. repository or project_path): without one, every pipeline of the issuer would be trusted",
        ),
      ),
    /** Services these tokens may act on; all when absent. */
    services: z.optional(z.array(z.string())),
  })
  .check(
    z.superRefine((entry, ctx) => {
      const shared = SHARED_ISSUERS[entry.issuer];
      if (!shared) return;
      const pinned = shared.claims.some((claim) => {
        const value = entry.claims[claim.name];
        return value !== undefined && claim.pins(value);
      });
      if (!pinned) {
        ctx.addIssue({
          code: "custom",
          path: ["claims"],
          message: `${entry.issuer} issues tokens to every ${shared.what} on it: pin ${shared.hint}`,
        });
      }
    }),
  );
export type OidcTrust = z.infer<typeof OidcTrust>;

const Tls = z.strictObject({ cert: z.string(), key: z.string() });

export const AgentConfigSchema = z
  .strictObject({
    id: z.string().check(z.regex(AGENT_ID, "letters, digits, . _ - (at most 64)")),
    listen: z._default(listenAddress, "127.0.0.1:7350"),
    state_dir: absolute("must be an absolute path"),
    docker: z._default(
      z.strictObject({
        socket: z._default(z.string(), "/var/run/docker.sock"),
        /** Where Docker's config.json is (logins, credential helpers): $DOCKER_CONFIG, else ~/.docker. */
        config_dir: z.optional(z.string()),
      }),
      { socket: "/var/run/docker.sock" },
    ),
    registries: z._default(z.record(z.string(), RegistryAuth), {}),
    tls: z.optional(Tls),
    notify: z._default(Notify, { webhooks: [] }),
    /** Health and Prometheus metrics over plain HTTP; keep it on loopback (or behind your scraper's network). */
    http: z._default(
      z.strictObject({
        listen: z._default(listenAddress, "127.0.0.1:7351"),
        enabled: z._default(z.boolean(), true),
      }),
      { listen: "127.0.0.1:7351", enabled: true },
    ),
    log_level: z._default(z.enum(["debug", "info", "warn", "error"]), "info"),
    /**
     * Proxies (addresses or CIDR blocks) whose X-Forwarded-For is believed: behind a TLS-terminating nginx every
     * peer is the proxy, and limits and the audit log need the client's own address. Nobody else's is read.
     */
    trusted_proxies: z._default(
      z.array(
        z
          .string()
          .check(z.refine((entry) => parseTrustedProxy(entry) !== undefined, "an address or CIDR block")),
      ),
      [],
    ),
    /** Each deploy's event log (state_dir/deploys/<service>/<id>.jsonl), kept for attach and audits. */
    deploy_logs: z._default(
      z.strictObject({
        keep: z._default(z.int().check(z.minimum(1), z.maximum(10_000)), 100),
        max_age: z._default(duration, 30 * 86_400_000),
      }),
      { keep: 100, max_age: 30 * 86_400_000 },
    ),
    trust: z._default(
      z.strictObject({
        keys: z._default(z.array(TrustedKey), []),
        oidc: z._default(z.array(OidcTrust), []),
      }),
      { keys: [], oidc: [] },
    ),
    services: z.record(z.string(), ServiceConfig),
    apps: z._default(z.record(z.string(), AppConfig), {}),
  })
  .check(
    z.superRefine((config, ctx) => {
      for (const [name, app] of Object.entries(config.apps)) checkApp(name, app, config.services, ctx);
      for (const name of Object.keys(config.services)) {
        if (!SERVICE_NAME.test(name)) {
          ctx.addIssue({
            code: "custom",
            path: ["services", name],
            message: `"${name}" is not a service name: use a-z, 0-9, _ and - (at most 63, starting with a letter or digit)`,
          });
        }
      }
      const seen = new Map<number, string>();
      for (const [name, service] of Object.entries(config.services)) {
        if (service.kind !== "web" || service.switch.mode !== "nat" || service.swarm?.publish !== undefined)
          continue;
        const port = stablePort(service.container_name ?? name, service.switch.port);
        const other = seen.get(port);
        if (other) {
          ctx.addIssue({
            code: "custom",
            path: ["services", name, "switch", "port"],
            message: `stable port ${port} is also used by service ${other}; set switch.port`,
          });
        }
        seen.set(port, name);
      }
    }),
  );

type Problems = { addIssue(issue: { code: "custom"; path: PropertyKey[]; message: string }): void };

function checkApp(
  name: string,
  app: AppConfig,
  services: Record<string, ServiceConfig>,
  ctx: Problems,
): void {
  const problem = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path: ["apps", name, ...path], message });
  if (!SERVICE_NAME.test(name)) problem([], `"${name}" is not an app name: use a-z, 0-9, _ and -`);
  if (Object.hasOwn(services, name))
    problem([], `"${name}" is also a service: an app needs a name of its own`);
  const known = app.services.filter((service, index) => {
    if (Object.hasOwn(services, service)) return true;
    problem(["services", index], `no service named "${service}"`);
    return false;
  });
  if (new Set(app.services).size !== app.services.length) problem(["services"], "a service is listed twice");
  const images = new Set(known.map((service) => services[service]?.image));
  if (images.size > 1)
    problem(
      ["services"],
      `its services run different images (${[...images].join(", ")}); an app is one image`,
    );
  if (app.release_service !== undefined && !known.includes(app.release_service))
    problem(["release_service"], `"${app.release_service}" is not one of the app's services`);
  for (const service of known) {
    if (app.release_command && services[service]?.release_command)
      problem(
        ["services"],
        `${service} has a release_command of its own: the app's runs once for all of them`,
      );
  }
}

/** NAT mode's stable port: as configured, else derived from the service name in 17000–17999. */
export function stablePort(service: string, configured: number | undefined): number {
  if (configured) return configured;
  let hash = 0;
  for (const char of service) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return 17000 + (hash % 1000);
}

export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type ServiceConfig = WebService | WorkerService;
export type NginxConfig = z.infer<typeof NginxConfig>;

/** A configured app by name; own keys only. */
export function findApp(config: AgentConfig, name: string): AppConfig | undefined {
  return isServiceName(name) && Object.hasOwn(config.apps, name) ? config.apps[name] : undefined;
}

/** A configured service by name; own keys only (a service named `constructor` is not Object's). */
export function findService(config: AgentConfig, name: string): ServiceConfig | undefined {
  return isServiceName(name) && Object.hasOwn(config.services, name) ? config.services[name] : undefined;
}

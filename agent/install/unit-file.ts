export interface UnitOptions {
  /** The agent's command line: the single executable, or node and the bundle. */
  program: string[];
  configFile: string;
  stateDir: string;
  user: string;
  /** Paths besides the state dir the agent writes: nginx's config and pid, iptables' lock. */
  writablePaths: string[];
}

/**
 * The systemd unit. The agent drives Docker (docker group: root-equivalent, see README), moves NAT rules
 * (CAP_NET_ADMIN; CAP_NET_RAW for iptables' legacy backend), writes and tests nginx's config and signals its
 * master (CAP_DAC_OVERRIDE, CAP_KILL), and reads the old colour's sockets in /proc (CAP_SYS_PTRACE, which is
 * also why /proc cannot be hidden); everything else is taken away. It writes only its state dir, its own
 * /run/greenlight, iptables' lock and nginx's config and log directories (`nginx -t` opens the logs). Memory
 * and tasks are capped well above what a deploy needs (peak RSS about 100 MB under a flooding container).
 * Secrets come from files named in the config (password_file, tls.key, public_key_file), never Environment=.
 */
export function renderUnit(o: UnitOptions): string {
  const caps = "CAP_NET_ADMIN CAP_NET_RAW CAP_KILL CAP_DAC_OVERRIDE CAP_SYS_PTRACE";
  return `# greenlight-agent: zero-downtime Docker deploys driven from CI.
# Written by \`greenlight-agent install\`; \`greenlight-agent uninstall\` removes it.
[Unit]
Description=greenlight agent (zero-downtime Docker deploys from CI)
Documentation=https://github.com/acme/greenlight#the-agent
Wants=network-online.target
After=network-online.target docker.service
Requires=docker.service

[Service]
Type=simple
User=${o.user}
Group=${o.user}
SupplementaryGroups=docker
ExecStart=${o.program.join(" ")} run --config ${o.configFile}
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM: stop accepting, let running deploys reach their end (the agent waits up to 120 s), then exit.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=150s
Restart=on-failure
RestartSec=2s
UMask=0027
Environment=NODE_ENV=production
RuntimeDirectory=greenlight
RuntimeDirectoryMode=0750
MemoryHigh=384M
MemoryMax=512M
TasksMax=256
LimitNOFILE=8192

AmbientCapabilities=${caps}
CapabilityBoundingSet=${caps}
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${[o.stateDir, ...o.writablePaths].join(" ")}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The unit as documented in packaging/: what install writes from the single executable for a config with one
 * service behind /etc/nginx.
 */
export const DOCUMENTED_UNIT = renderUnit({
  program: ["/usr/local/lib/greenlight/greenlight-agent"],
  configFile: "/etc/greenlight/agent.yml",
  stateDir: "/var/lib/greenlight",
  user: "greenlight",
  writablePaths: ["-/etc/nginx/conf.d", "-/run/xtables.lock", "-/var/log/nginx"],
});

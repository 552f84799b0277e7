import { readFile } from "node:fs/promises";
import type { ServerBlock } from "../../config/schema.js";
import type { NginxController } from "./controller.js";
import { applyNginxFile, type ApplyLogger } from "./apply.js";

/**
 * The server block for one service, docker-gen style: names, TLS, proxy headers and (optionally) WebSocket
 * upgrades, proxying to the service's upstream. Rendered from the config alone, so the same config always
 * gives the same file and a deploy rewrites it only when the config changed.
 */
export function renderServerBlock(service: string, upstreamName: string, server: ServerBlock): string {
  const tls = server.tls;
  const port = server.listen ?? (tls ? 443 : 80);
  const names = server.server_names.join(" ");
  const connection = `$greenlight_${upstreamName}_connection`;
  const lines = [
    `# greenlight: service=${service} server block, rendered from the agent's config; edits are overwritten`,
  ];
  if (server.websocket) {
    lines.push(`map $http_upgrade ${connection} {`, "    default upgrade;", "    ''      close;", "}", "");
  }
  lines.push("server {", `    listen ${port}${tls ? " ssl" : ""};`, `    server_name ${names};`);
  if (tls) lines.push(`    ssl_certificate ${tls.cert};`, `    ssl_certificate_key ${tls.key};`);
  lines.push(
    `    client_max_body_size ${server.client_max_body_size};`,
    "",
    "    location / {",
    `        proxy_pass http://${upstreamName};`,
    "        proxy_http_version 1.1;",
    "        proxy_set_header Host $host;",
    "        proxy_set_header X-Real-IP $remote_addr;",
    "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "        proxy_set_header X-Forwarded-Proto $scheme;",
  );
  if (server.websocket) {
    lines.push(
      "        proxy_set_header Upgrade $http_upgrade;",
      `        proxy_set_header Connection ${connection};`,
      "        proxy_read_timeout 1h;",
    );
  } else {
    // One upstream connection per request: each new request takes the switch's current path.
    lines.push('        proxy_set_header Connection "close";');
  }
  lines.push("    }", "}", "");
  if (tls?.redirect_http && port === 443) {
    lines.push(
      "server {",
      "    listen 80;",
      `    server_name ${names};`,
      "    return 301 https://$host$request_uri;",
      "}",
      "",
    );
  }
  return lines.join("\n");
}

/** Writes the service's server block when it differs from what is on disk, then tests and reloads nginx. */
export async function ensureServerBlock(
  nginx: NginxController,
  service: string,
  upstreamName: string,
  server: ServerBlock | undefined,
  log: ApplyLogger & { info(message: string): void },
): Promise<void> {
  if (!server) return;
  const content = renderServerBlock(service, upstreamName, server);
  const onDisk = await readFile(server.file, "utf8").catch(() => "");
  if (onDisk === content) return;
  log.info(`writing the server block for ${server.server_names.join(", ")} to ${server.file}`);
  await applyNginxFile(nginx, server.file, content, log);
}

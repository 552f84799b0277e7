import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stat } from "node:fs/promises";
import { buildNginxImage } from "../fixtures/nginx-image.js";
import { docker, run } from "./run.js";
import { freePort, waitFor } from "./ports.js";

export interface PrivateNginx {
  dir: string;
  port: number;
  url: string;
  conf: string;
  upstreamFile: string;
  /** The `nginx:` block of a service's agent config for this instance. */
  agentConfig: Record<string, unknown>;
  stop(): Promise<void>;
}

function proxyConfig(opts: {
  pid: string;
  tmp: string;
  errorLog: string;
  include: string;
  listen: string;
  upstreamName: string;
}) {
  return `worker_processes 2;
pid ${opts.pid};
error_log ${opts.errorLog} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${opts.tmp}/body;
  proxy_temp_path ${opts.tmp}/proxy;
  fastcgi_temp_path ${opts.tmp}/fastcgi;
  uwsgi_temp_path ${opts.tmp}/uwsgi;
  scgi_temp_path ${opts.tmp}/scgi;
  include ${opts.include};
  server {
    listen ${opts.listen};
    location / {
      proxy_pass http://${opts.upstreamName};
      proxy_read_timeout 60s;
    }
  }
}
`;
}

let nginxImage: Promise<string> | undefined;

/**
 * nginx in a container, as in seed 002: the upstream file is bind-mounted into it as a single file, so a
 * rename on the host would go unseen by the container (and a rename inside it fails with EBUSY).
 */
export async function startContainerNginx(
  dir: string,
  service: string,
  upstreamName = `greenlight_${service}`,
): Promise<PrivateNginx & { inode(): Promise<number> }> {
  nginxImage ??= buildNginxImage();
  const image = await nginxImage;
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const upstreamFile = join(dir, `${service}.upstream.conf`);
  await writeFile(upstreamFile, `upstream ${upstreamName} { server 127.0.0.1:9 max_fails=0; }\n`);
  const conf = join(dir, "nginx.conf");
  await writeFile(
    conf,
    proxyConfig({
      pid: "/run/nginx.pid",
      tmp: "/tmp",
      errorLog: "stderr",
      include: "/etc/nginx/conf.d/*.conf",
      listen: "80",
      upstreamName,
    }),
  );
  const name = `${service}-proxy`;
  await docker(
    "run",
    "-d",
    "--name",
    name,
    "-p",
    `127.0.0.1:${port}:80`,
    "-v",
    `${conf}:/etc/nginx/nginx.conf:ro`,
    "-v",
    `${upstreamFile}:/etc/nginx/conf.d/${service}.upstream.conf`,
    image,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor("nginx in its container", async () => ((await fetch(url)).status > 0 ? true : undefined));
  return {
    dir,
    port,
    url,
    conf,
    upstreamFile,
    agentConfig: { upstream_file: upstreamFile, container: name },
    inode: async () => (await stat(upstreamFile)).ino,
    stop: async () => {
      await docker("rm", "-f", name).catch(() => undefined);
    },
  };
}

function nginxArgs(dir: string): string[] {
  return ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")];
}

/**
 * A private nginx (Debian's package) with its own prefix, config and port. It proxies everything to the
 * upstream `upstreamName`, defined in `conf.d/<service>.upstream.conf`; before the first deploy that file
 * holds a placeholder so nginx can start.
 */
export async function startNginx(
  dir: string,
  service: string,
  upstreamName = `greenlight_${service}`,
): Promise<PrivateNginx> {
  const port = await freePort();
  await mkdir(join(dir, "conf.d"), { recursive: true });
  await mkdir(join(dir, "tmp"), { recursive: true });
  const upstreamFile = join(dir, "conf.d", `${service}.upstream.conf`);
  await writeFile(upstreamFile, `upstream ${upstreamName} { server 127.0.0.1:9 max_fails=0; }\n`);
  const conf = join(dir, "nginx.conf");
  await writeFile(
    conf,
    proxyConfig({
      pid: `${dir}/nginx.pid`,
      tmp: `${dir}/tmp`,
      errorLog: `${dir}/error.log`,
      include: `${dir}/conf.d/*.conf`,
      listen: `127.0.0.1:${port}`,
      upstreamName,
    }),
  );
  await run("nginx", nginxArgs(dir));
  const url = `http://127.0.0.1:${port}`;
  await waitFor("nginx", async () => (await readFile(join(dir, "nginx.pid"), "utf8")).trim() || undefined);
  return {
    dir,
    port,
    url,
    conf,
    upstreamFile,
    agentConfig: {
      upstream_file: upstreamFile,
      test: ["nginx", ...nginxArgs(dir), "-t", "-q"],
      reload: ["nginx", ...nginxArgs(dir), "-s", "reload"],
      pid_file: join(dir, "nginx.pid"),
    },
    stop: async () => {
      // A signal to the master, not `nginx -s stop`: that parses the config first and fails on a broken one.
      const pid = Number((await readFile(join(dir, "nginx.pid"), "utf8").catch(() => "")).trim());
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
    },
  };
}

/**
 * nginx in front of an agent as the README's recipe has it (TLS left out): WebSocket upgrade passed through and
 * the client's address added to X-Forwarded-For. Every connection reaches the agent from 127.0.0.1.
 */
export async function startAgentProxy(
  dir: string,
  agentPort: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  await mkdir(join(dir, "tmp"), { recursive: true });
  await writeFile(
    join(dir, "nginx.conf"),
    `pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port};
    location /greenlight/ {
      proxy_pass http://127.0.0.1:${agentPort}/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }
  }
}
`,
  );
  await run("nginx", nginxArgs(dir));
  await waitFor("nginx", async () => (await readFile(join(dir, "nginx.pid"), "utf8")).trim() || undefined);
  return {
    url: `ws://127.0.0.1:${port}/greenlight/`,
    stop: async () => {
      const pid = Number((await readFile(join(dir, "nginx.pid"), "utf8").catch(() => "")).trim());
      if (pid > 0) process.kill(pid, "SIGTERM");
    },
  };
}

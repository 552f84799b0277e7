import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./run.js";
import { freePort, waitFor } from "./ports.js";

export interface PrivateNginx {
  dir: string;
  port: number;
  url: string;
  conf: string;
  upstreamFile: string;
  /** The `nginx:` block of a service's agent config for this instance. */
  agentConfig: { upstream_file: string; test: string[]; reload: string[]; pid_file: string };
  stop(): Promise<void>;
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
    `worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  include ${dir}/conf.d/*.conf;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${upstreamName};
      proxy_read_timeout 60s;
    }
  }
}
`,
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
      await run("nginx", [...nginxArgs(dir), "-s", "stop"]).catch(() => undefined);
    },
  };
}

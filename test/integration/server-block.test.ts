import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { renderServerBlock } from "../../agent/proxy/nginx/server-block.js";
import { freePort } from "../helpers/ports.js";
import { Site } from "../helpers/site.js";
import { useStack } from "../helpers/stack.js";

const stack = useStack();
let site: Site;
let port: number;
let serverFile: string;

before(async () => {
  await stack.ready;
  site = await Site.start({ registry: stack.registry.host });
  port = await freePort();
  serverFile = join(site.nginx.dir, "conf.d", `${site.service}.server.conf`);
  const services = site.config.services as Record<string, { nginx: Record<string, unknown> }>;
  const service = services[site.service];
  assert.ok(service);
  service.nginx = {
    ...service.nginx,
    server: { file: serverFile, server_names: ["shop.test", "www.shop.test"], listen: port, websocket: true },
  };
  await writeFile(site.configFile, stringify(site.config));
});

after(async () => {
  await site?.stop();
});

async function served(host: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/cgi-bin/v`, {
    headers: { host, connection: "close" },
  });
  return `${response.status} ${(await response.text()).trim()}`;
}

test("a service's server block is rendered from the config and serves its names; unchanged, it is left alone", async () => {
  const v1 = await site.deploy(await stack.image({ version: "v1" }));
  assert.equal(v1.result?.status, "succeeded", v1.stdout + v1.stderr);
  assert.equal(await served("shop.test"), "200 v1");
  assert.equal(await served("www.shop.test"), "200 v1");
  const written = await readFile(serverFile, "utf8");
  assert.match(written, /server_name shop\.test www\.shop\.test;/);
  assert.match(written, /proxy_set_header Upgrade \$http_upgrade;/);
  const before = (await stat(serverFile)).mtimeMs;

  const v2 = await site.deploy(await stack.image({ version: "v2" }));
  assert.equal(v2.result?.status, "succeeded");
  assert.equal(await served("shop.test"), "200 v2");
  assert.equal((await stat(serverFile)).mtimeMs, before, "no rewrite, no reload, when nothing changed");
});

test("remove-service takes its generated server block out of nginx, which keeps running", async () => {
  const removed = await site.spawnAgent(["remove-service", site.service]).done;
  assert.equal(removed.code, 0, removed.stdout + removed.stderr);
  await assert.rejects(stat(serverFile), /ENOENT/);
  assert.ok(removed.events.some((e) => /removed .*server\.conf; nginx reloaded/.test(e.message)));
  // The private nginx's own config includes the upstream file: it stays, and the agent says why.
  assert.ok(
    removed.events.some((e) => /left .*upstream\.conf: nginx's config still needs it/.test(e.message)),
  );
  await assert.rejects(served("shop.test"));
  assert.deepEqual(await site.containers(), []);
});

test("TLS: certificate paths, an HTTPS listener and a redirect from plain HTTP", () => {
  const text = renderServerBlock("web", "greenlight_web", {
    file: "/etc/nginx/conf.d/web.server.conf",
    server_names: ["shop.example.com"],
    tls: { cert: "/etc/ssl/shop.crt", key: "/etc/ssl/shop.key", redirect_http: true },
    websocket: false,
    client_max_body_size: "10m",
  });
  assert.match(text, /listen 443 ssl;/);
  assert.match(text, /ssl_certificate \/etc\/ssl\/shop\.crt;/);
  assert.match(text, /ssl_certificate_key \/etc\/ssl\/shop\.key;/);
  assert.match(
    text,
    /listen 80;\n {4}server_name shop\.example\.com;\n {4}return 301 https:\/\/\$host\$request_uri;/,
  );
  assert.doesNotMatch(text, /Upgrade/);
});

#!/usr/bin/env bash
# Installs (Debian packages) and starts the real components the demo and the tests run on: the Docker engine,
# the registry (Distribution), nginx, wrk, busybox-static for the test app, iptables, conntrack and nftables.
# Idempotent: installs only what is missing; starts dockerd only if no engine answers.
set -euo pipefail

need=()
for pair in dockerd:docker.io docker-registry:docker-registry nginx:nginx-light wrk:wrk busybox:busybox-static \
  iptables:iptables conntrack:conntrack nft:nftables curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "stack: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The engine's own client; another docker CLI on PATH may speak a newer API than this engine.
DOCKER=/usr/bin/docker
if ! "$DOCKER" info >/dev/null 2>&1; then
  echo "stack: starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/greenlight-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER" info >/dev/null 2>&1 || { echo "stack: dockerd did not start; see /var/log/greenlight-dockerd.log" >&2; exit 1; }
fi
echo "stack: docker $("$DOCKER" info --format '{{.ServerVersion}}'), $(nginx -v 2>&1), $(docker-registry --version | awk '{print $2, $3}'), wrk, $(iptables --version)"

#!/usr/bin/env bash
# Runs every test on the real stack: installs what is missing, starts the engine, then unit, integration
# and end-to-end tests, one file at a time (they share one Docker engine and measure load).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/stack.sh
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"

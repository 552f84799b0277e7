#!/usr/bin/env bash
# The README's first command: installs what it needs, then runs the local demo end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/stack.sh
[ -f dist/greenlight.js ] || npm run build
exec node --import tsx scripts/demo.ts

#!/usr/bin/env bash
# Builds the portal (portal/ → portal/dist) when its sources are newer than the build, so `npm start` serves it on a
# fresh machine and repeated starts cost nothing. Vite, React and the form library come from `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=portal/dist/index.html
if [ -f "$stamp" ] && [ -z "$(find portal/src portal/index.html portal/vite.config.ts src/api -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
node node_modules/vite/bin/vite.js build --config portal/vite.config.ts

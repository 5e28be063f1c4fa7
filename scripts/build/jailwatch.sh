#!/usr/bin/env bash
# `npm run build`: bundles jailwatch into dist/jailwatch.js (one file, node only).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p dist
npx esbuild watcher/src/main.ts --bundle --platform=node --target=node20 --outfile=dist/jailwatch.js --log-level=warning
echo "build: dist/jailwatch.js ($(du -h dist/jailwatch.js | cut -f1))"

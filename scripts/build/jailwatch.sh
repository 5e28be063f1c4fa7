#!/usr/bin/env bash
# `npm run build`: bundles jailwatch into dist/jailwatch.js (one file, node only).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p dist
npx esbuild watcher/src/main.ts --bundle --platform=node --target=node20 --outfile=dist/jailwatch.js --log-level=warning
echo "build: dist/jailwatch.js ($(du -h dist/jailwatch.js | cut -f1))"

# Single executable (Node SEA): the bundle as a blob injected into a copy of this node binary, so hosts need no
# Node. Rebuilt only when the bundle or node changed (postject over 99 MB takes seconds); no code cache or
# snapshot, so the same inputs give the same bytes.
sea_key="$(cat dist/jailwatch.js scripts/build/sea-config.json | sha256sum | cut -d' ' -f1)-$(node -p 'process.version + process.arch')"
if [ -x dist/jailwatch ] && [ "$(cat dist/.jailwatch.sea-key 2>/dev/null || true)" = "$sea_key" ]; then
  echo "build: dist/jailwatch up to date"
else
  if ! out="$(node --experimental-sea-config scripts/build/sea-config.json 2>&1)"; then
    echo "$out" >&2
    exit 1
  fi
  cp "$(node -p process.execPath)" dist/jailwatch.tmp
  # postject warns about ELF note names on every run; show its output only when it fails.
  if ! out="$(npx postject dist/jailwatch.tmp NODE_SEA_BLOB dist/jailwatch.blob \
      --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1)"; then
    echo "$out" >&2
    exit 1
  fi
  chmod 755 dist/jailwatch.tmp
  mv dist/jailwatch.tmp dist/jailwatch
  rm -f dist/jailwatch.blob
  echo "$sea_key" > dist/.jailwatch.sea-key
  echo "build: dist/jailwatch ($(du -h dist/jailwatch | cut -f1), single executable)"
fi

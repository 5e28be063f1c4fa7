#!/usr/bin/env bash
# Lint every shell script we ship or run (host steps, build scripts, lab helpers) with shellcheck.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.sh' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "lint: no shell scripts found" >&2; exit 1; }
shellcheck -x -S style "${files[@]}"
echo "lint: shellcheck clean over ${#files[@]} scripts"

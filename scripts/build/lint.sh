#!/usr/bin/env bash
# `npm run lint`: shellcheck over every shell script we ship or run (host steps, build scripts, lab helpers), then
# ESLint (typescript-eslint's recommended rules) and Prettier's check over the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.sh' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "lint: no shell scripts found" >&2; exit 1; }
shellcheck -x -S style "${files[@]}"
echo "lint: shellcheck clean over ${#files[@]} scripts"
npx --no-install eslint --max-warnings 0 .
echo "lint: eslint clean"
npx --no-install prettier --check --log-level warn "**/*.ts"
echo "lint: prettier clean (npx prettier --write \"**/*.ts\" formats)"

#!/usr/bin/env bash
# `npm test`: everything that can run on this machine, in order of speed. Stops at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/../.."
stage() { echo; echo "=== npm test: $1"; }
stage lint;        npm run -s lint
stage typecheck;   npm run -s typecheck
stage build;       npm run -s build
stage unit;        npm run -s test:unit
stage watcher;     npm run -s test:watcher
stage conformance; npm run -s test:conformance
stage lab;         npm run -s test:lab
echo; echo "=== npm test: all stages passed"

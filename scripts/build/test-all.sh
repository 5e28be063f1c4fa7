#!/usr/bin/env bash
# `npm test`: everything that can run on this machine, in order of speed. Stops at the first failing stage and
# ends with one summary line of the mocha counts over all stages.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp)
current=""
# On a failure the last lines printed are the list of what failed, each with its first error line: mocha's own
# report of a long stage (lab logs, stack traces) scrolls the early failures out of a CI log's tail.
finish() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo
    echo "=== npm test: FAILED in stage ${current:-?} (exit $rc)"
    sed 's/\x1b\[[0-9;]*m//g' "$out" | awk '
      /^ +[0-9]+ passing/ { epilogue = 0; next }
      /^ +[0-9]+ failing/ { epilogue = 1; next }
      epilogue && /^ +[0-9]+\) / { if (title != "") print title; title = $0; sub(/^ +/, "", title); want = 1; next }
      epilogue && want && /(Error|error|expected|Timeout)/ { line = $0; sub(/^ +/, "", line); title = title " -- " substr(line, 1, 240); want = 0; next }
      epilogue && want && NF { line = $0; sub(/^ +/, "", line); title = title " / " line }
      END { if (title != "") print title }' | sed 's/^/npm test: failed: /'
  fi
  rm -f "$out"
}
trap finish EXIT
stage() { current=$1; echo; echo "=== npm test: $1"; }
# Runs a mocha stage, showing its output and keeping it for the summary.
suite() { stage "$1"; npm run -s "$2" 2>&1 | tee -a "$out"; }
stage lint;      npm run -s lint
stage typecheck; npm run -s typecheck
stage build;     npm run -s build
suite unit test:unit
suite watcher test:watcher
suite conformance test:conformance
suite lab test:lab
# mocha colours its summary when it writes to a terminal: strip escapes before counting.
count() { sed 's/\x1b\[[0-9;]*m//g' "$out" | awk -v w="$1" '$2 == w { n += $1 } END { print n + 0 }'; }
echo
echo "=== npm test: all stages passed"
echo "npm test: $(count passing) passed, $(count failing) failed"
# The browser test (tests/lab/browser.test.ts) keeps its last page's screenshot, and one per failed test.
shot=test-artifacts/browser/last-page.png
[ ! -f "$shot" ] || echo "npm test: the browser test's last page: $PWD/$shot"

#!/usr/bin/env bash
# Debian's Chromium for the browser test, started by Playwright with its arguments: inside the lab's control
# namespace (where the balancer's and the nodes' addresses are routed) and as an unprivileged user, so Chromium keeps
# its own sandbox (no --no-sandbox). Playwright speaks CDP over fds 3 and 4 (--remote-debugging-pipe), which nsenter
# and setpriv pass through unchanged.
# Environment: LAB_CONTROL_PID (pid holding the control namespace), BROWSER_HOME (a home the user may write),
# BROWSER_USER (default nobody).
set -euo pipefail
: "${LAB_CONTROL_PID:?}" "${BROWSER_HOME:?}"
user=${BROWSER_USER:-nobody}
exec nsenter -t "$LAB_CONTROL_PID" -n -- setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
  env HOME="$BROWSER_HOME" /usr/bin/chromium "$@"

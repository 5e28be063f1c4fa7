# shellcheck shell=bash
# Prepended to every host step by components/hostStep.ts (renderStep). Not run on its own.
set -Eeuo pipefail
umask 022
: "${HA_STEP:=unknown-step}"

# A failed step must say which host and why: the error trap names both, plus the failing command.
ha_on_error() {
  local rc=$? line=$1 cmd=$2
  echo "ha-wordpress: step ${HA_STEP} failed on host $(hostname) (exit ${rc}) at line ${line}: ${cmd}" >&2
  exit "$rc"
}
trap 'ha_on_error "$LINENO" "$BASH_COMMAND"' ERR

log() { echo "[$(hostname)] ${HA_STEP}: $*"; }
die() { echo "ha-wordpress: step ${HA_STEP} failed on host $(hostname): $*" >&2; exit 1; }

# Requires that every named variable is set and non-empty.
need() {
  local v
  for v in "$@"; do [ -n "${!v:-}" ] || die "parameter $v is missing"; done
}

# wait_until SECONDS DESCRIPTION CMD...: polls CMD every second until it succeeds; dies with DESCRIPTION on timeout.
wait_until() {
  local timeout=$1 what=$2 end
  shift 2
  end=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timed out after ${timeout}s waiting for: ${what}"
    sleep 1
  done
}

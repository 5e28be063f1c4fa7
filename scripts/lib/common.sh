# shellcheck shell=bash
# Prepended to every host step by components/hostStep.ts (renderStep). Not run on its own.
set -Eeuo pipefail
umask 022
: "${HA_STEP:=unknown-step}"

# Steps act as root. Cloud images log in as an unprivileged sudoer (`admin` on Debian), so re-run the very same text
# under sudo. sudo resets the environment: carry the step's parameters (named in HA_PARAMS by renderStep) explicitly.
if [ "$(id -u)" -ne 0 ]; then
  ha_env=("HA_STEP=${HA_STEP}" "HA_PARAMS=${HA_PARAMS:-}")
  for ha_var in ${HA_PARAMS:-}; do ha_env+=("${ha_var}=${!ha_var-}"); done
  exec sudo -n env "${ha_env[@]}" bash -c "${BASH_EXECUTION_STRING}" "$0"
fi

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

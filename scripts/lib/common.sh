# shellcheck shell=bash
# Prepended to every host step by components/hostStep.ts (renderStep). Not run on its own.
set -Eeuo pipefail
umask 022
: "${HA_STEP:=unknown-step}"

# Secret parameters (named in HA_SECRETS) arrive on stdin, one "NAME BASE64" line each, never in the command text:
# pulumi-command prints a failed command's text and keeps it in state. Read before the sudo re-exec (sudo may sit on
# a pty) and exported, so --preserve-env carries them by name like the other parameters.
if [ -n "${HA_SECRETS:-}" ] && [ -z "${HA_SECRETS_LOADED:-}" ]; then
  for ha_name in ${HA_SECRETS}; do
    [[ $ha_name =~ ^[A-Z][A-Z0-9_]*$ ]] || { echo "ha-wordpress: step ${HA_STEP}: bad secret parameter name '${ha_name}'" >&2; exit 1; }
    IFS=' ' read -r ha_got ha_b64 || true
    [ "${ha_got:-}" = "$ha_name" ] || { echo "ha-wordpress: step ${HA_STEP}: secret parameter ${ha_name} missing on stdin" >&2; exit 1; }
    ha_value=$(printf '%s' "${ha_b64:-}" | base64 -d) || { echo "ha-wordpress: step ${HA_STEP}: secret parameter ${ha_name} is not base64" >&2; exit 1; }
    printf -v "$ha_name" '%s' "$ha_value"
    export "${ha_name?}"
  done
  unset ha_name ha_got ha_b64 ha_value
  export HA_SECRETS_LOADED=1
fi

# Steps act as root. Cloud images log in as an unprivileged sudoer (`admin` on Debian), so re-run the very same text
# under sudo. sudo resets the environment: keep the step's parameters (named in HA_PARAMS by renderStep) by NAME with
# --preserve-env, so their values (passwords, salts, the peer secret) never reach sudo's command line or its log.
if [ "$(id -u)" -ne 0 ]; then
  ha_keep="HA_STEP,HA_PARAMS,HA_SECRETS,HA_SECRETS_LOADED"
  for ha_var in ${HA_PARAMS:-}; do ha_keep+=",${ha_var}"; done
  exec sudo -n --preserve-env="${ha_keep}" bash -c "${BASH_EXECUTION_STRING}" "$0"
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

# write_if_changed FILE CONTENT MODE: atomic replace; returns 0 when the file changed, 1 when it was identical.
write_if_changed() {
  local file=$1 content=$2 mode=$3 tmp
  # Compare the bytes we would write (content plus newline): $(cat) would drop trailing newlines and never match.
  if [ -f "$file" ] && printf '%s\n' "$content" | cmp -s - "$file"; then return 1; fi
  mkdir -p "$(dirname "$file")"
  tmp=$(mktemp "${file}.XXXXXX")
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$file"
}

# fstab_set MOUNT_POINT LINE [SOURCE]: makes LINE the one active fstab entry for MOUNT_POINT (and for SOURCE, when
# given), in place; other entries for them are dropped, comments kept. An empty LINE removes them. Returns 0 when
# fstab changed, 1 when it already held exactly that, so a re-run neither duplicates nor reorders lines.
# The new file is written beside /etc/fstab and renamed over it: a crash leaves the old or the new file, never a
# truncated one (an fstab cut short stops the next boot).
fstab_set() {
  local tmp
  [ -f /etc/fstab ] || : >/etc/fstab
  tmp=$(mktemp /etc/.fstab.XXXXXX)
  MP=$1 WANT=$2 SRC=${3:-} awk '
    $0 !~ /^[[:space:]]*#/ && ($2 == ENVIRON["MP"] || (ENVIRON["SRC"] != "" && $1 == ENVIRON["SRC"])) {
      if (ENVIRON["WANT"] != "" && $0 == ENVIRON["WANT"] && !seen++) print
      next
    }
    { print }
    END { if (!seen && ENVIRON["WANT"] != "") print ENVIRON["WANT"] }' /etc/fstab >"$tmp"
  if cmp -s "$tmp" /etc/fstab; then rm -f "$tmp"; return 1; fi
  chmod 0644 "$tmp"
  sync "$tmp"
  mv -f "$tmp" /etc/fstab
  systemctl daemon-reload
}

# require_systemd: the step manages units; every host we deploy to (EC2, the booted lab hosts) runs systemd.
require_systemd() {
  [ -d /run/systemd/system ] || die "this host does not run systemd; ha-wordpress manages its services as systemd units"
}

# is_ipv4 VALUE: a dotted-quad IPv4 address, every octet at most 255.
is_ipv4() {
  local octet
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  for octet in "${BASH_REMATCH[@]:1}"; do ((10#$octet <= 255)) || return 1; done
}

# unit_name PATH SUFFIX: the unit systemd names after a path, e.g. /var/www/html mount -> var-www-html.mount.
unit_name() { systemd-escape --path --suffix="$2" "$1"; }

# port_open PORT [ADDR]: something accepts TCP connections there (default 127.0.0.1).
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

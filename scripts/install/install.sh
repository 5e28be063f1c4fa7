#!/usr/bin/env bash
# From a fresh clone to the lab's WordPress, on a Debian 12 machine with git, node 20 and root:
#   checks    root, Debian 12, node >= 20, loop devices, FUSE, the cgroup layout the lab boots hosts in
#   packages  the Debian packages of scripts/install/packages.txt that are missing (apt only when some are)
#   nspawn    systemd-nspawn can start a container here (a throwaway one over /, 0.5 s)
#   npm       `npm ci` when node_modules is missing or older than package-lock.json
#   build     jailwatch's single-file binary (dist/jailwatch), which the lab's nodes download
#   image     the lab's cached Debian 12 image (`npm run lab -- image`; minutes the first time, then nothing)
#   up        `npm run lab -- up`: the whole stack, ending with the URL and the admin login
# Each phase prints one line when it starts and one with its duration. Safe to run again: what is there is kept.
# (A phase runs as `fn || rc=$?`, where bash ignores set -e: every step inside says `|| return 1` itself.)
# usage: scripts/install/install.sh [--no-up | --check]
#   --no-up: every phase but the last; --check: only the checks (can this machine run the lab?), changes nothing
# Environment: HA_LAB_DIR (a second lab, see README), HA_LAB_HTTP_PORT (the browser URL's port, default 8080).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/install
up=1 only_check=0
case "${1:-}" in
  "") ;;
  --no-up) up=0 ;;
  --check) only_check=1 ;;
  *) echo "usage: $0 [--no-up | --check]" >&2; exit 2 ;;
esac

now() { date +%s%N; }
t_all=$(now)
# phase NAME COMMAND...: runs one phase with a start line and a line with its duration.
phase() {
  local name=$1 t0 rc
  shift
  echo "install: [$name] ..."
  t0=$(now)
  rc=0
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "install: [$name] FAILED (exit $rc) after $(elapsed "$t0")" >&2
    exit "$rc"
  fi
  echo "install: [$name] done in $(elapsed "$t0")"
}
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", (b - a) / 1e9 }'; }

# Every check runs and says what is wrong and what to do; the phase fails if any did.
checks() {
  local bad=0 id="" version="" major
  say() { echo "install: check failed: $*" >&2; bad=1; }
  [ "$(id -u)" -eq 0 ] || say "not root: the lab makes network namespaces, mounts and loop devices; run as root (sudo $0)"
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091 # the machine's own file
    id=$(. /etc/os-release && echo "${ID:-}") && version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  fi
  [ "$id:$version" = debian:12 ] ||
    say "not Debian 12 (this is '${id:-unknown} ${version:-?}'): the package list and the lab's image are Debian bookworm's"
  if command -v node >/dev/null; then
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 20 ] || say "node $(node --version) is too old: node 20 or newer is needed"
    command -v npm >/dev/null || say "npm is missing (it comes with node 20)"
  else
    say "node is missing: install node 20 (e.g. from nodejs.org or NodeSource) and run this again"
  fi
  [ -c /dev/loop-control ] ||
    say "no loop devices (/dev/loop-control): 'modprobe loop'; in a container, give it /dev/loop-control and /dev/loop*"
  [ -c /dev/fuse ] ||
    say "no FUSE (/dev/fuse): 'modprobe fuse'; in a container, give it /dev/fuse (GlusterFS clients mount with FUSE)"
  local h
  for h in systemd unified; do
    [ -w "/sys/fs/cgroup/$h/cgroup.procs" ] ||
      say "no writable /sys/fs/cgroup/$h: the lab boots hosts under the hybrid cgroup layout (name=systemd and unified hierarchies)"
  done
  [ "$bad" -eq 0 ] || { echo "install: this machine cannot run the lab (see above)" >&2; return 1; }
  echo "install: root, Debian 12, node $(node --version), /dev/loop-control, /dev/fuse, cgroups: ok"
}

# The names of packages.txt that are neither installed nor provided by an installed package (php-opcache is a virtual
# package: php8.2-opcache provides it).
missing_packages() {
  local p
  local -A have=()
  while read -r p; do [ -z "$p" ] || have[$p]=1; done < <(dpkg-query -W -f='${db:Status-Status} ${Package} ${Provides}\n' |
    awk '$1 == "installed" { $1 = ""; gsub(/\([^)]*\)/, ""); gsub(/,/, " "); for (i = 1; i <= NF; i++) print $i }')
  wanted | while read -r p; do [ -n "${have[$p]:-}" ] || echo "$p"; done
}

# The package names of packages.txt, one a line.
wanted() { grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$here/packages.txt"; }

packages() {
  local -a want
  mapfile -t want < <(missing_packages)
  if [ "${#want[@]}" -eq 0 ]; then
    echo "install: all $(wanted | wc -l) packages of $here/packages.txt are installed"
    return 0
  fi
  echo "install: installing ${#want[@]} missing packages: ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || return 1
  # The whole list in one transaction: nginx in it satisfies wordpress's httpd dependency, so Apache is not pulled in.
  # shellcheck disable=SC2046 # one word per package name
  apt-get install -y -q --no-install-recommends $(wanted) || return 1
  mapfile -t want < <(missing_packages)
  [ "${#want[@]}" -eq 0 ] || { echo "install: still missing after apt-get: ${want[*]}" >&2; return 1; }
}

# Boots nothing: runs /usr/bin/true in a volatile container over this machine's own root, which fails the same way
# the lab's boots would (no permission for namespaces or mounts, a seccomp filter, a missing cgroup).
nspawn_check() {
  local out
  if ! out=$(timeout 60 systemd-nspawn -q --register=no --keep-unit --machine="halab-check-$$" --directory=/ \
    --volatile=yes --private-network /usr/bin/true 2>&1); then
    echo "$out" >&2
    echo "install: check failed: systemd-nspawn cannot start a container on this machine (above); the lab boots every host with it" >&2
    return 1
  fi
  echo "install: systemd-nspawn $(systemd-nspawn --version | awk 'NR == 1 { print $2 }') starts containers"
}

# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
npm_deps() {
  if [ -f node_modules/.package-lock.json ] && [ ! node_modules/.package-lock.json -ot package-lock.json ]; then
    echo "install: node_modules is up to date with package-lock.json"
    return 0
  fi
  npm ci --no-audit --no-fund
}

phase checks checks
[ "$only_check" -eq 0 ] || exit 0
phase packages packages
phase nspawn nspawn_check
phase npm npm_deps
phase build npm run -s build
phase image npm run -s lab -- image
if [ "$up" -eq 1 ]; then
  phase up npm run -s lab -- up
fi
echo "install: all phases done in $(elapsed "$t_all")"

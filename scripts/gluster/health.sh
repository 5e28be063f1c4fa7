#!/bin/bash
# Gluster health of this node, as one screen (--text, the default) or as metric lines (--metrics): exactly one
# `NAME VALUE` line for each of PeersConnected, BricksOnline, HealPending, SplitBrainEntries, VolumeMounted,
# BrickDiskUsedPercent, JailwatchBansLastMinute. A value the node cannot find out (glusterd down, no brick
# filesystem, jailwatch installed but not answering) is -1: unknown is not healthy, and it never looks like 0.
#
# Installed by the mount step (scripts/gluster/mount.sh) as /usr/local/lib/ha-wordpress/gluster-health, with its
# parameters in /etc/ha-wordpress/gluster-health.conf (VOLUME_NAME, MOUNT_POINT, BRICK_PATH); `--volume`,
# `--mount-point` and `--brick-path` override them. An unhealthy volume is a value, not an error: the script exits
# 0 whenever it could report, 2 on bad usage or missing parameters.
#
# Heal backlog: `gluster volume heal VOL info summary`, not `statistics heal-count`. heal-count is cheaper (it counts
# each brick's index directory) but counts index entries, not files, has no split-brain figure, and reports a
# brick it cannot reach no differently from an empty one; the summary asks each brick through a client of its own,
# gives pending and split-brain entries of the same crawl, says "not connected" for a brick it cannot ask, and is
# the very count the rolling gate (healed.sh) waits on, so an alarm and the gate never disagree. It is bounded by a
# timeout, so a stuck brick makes the figure unknown instead of hanging the metrics.
set -uo pipefail
export LC_ALL=C

conf=/etc/ha-wordpress/gluster-health.conf
mode=text
usage() { echo "usage: gluster-health [--text|--metrics] [--volume NAME] [--mount-point DIR] [--brick-path DIR]" >&2; exit 2; }
# shellcheck source=/dev/null
[ ! -r "$conf" ] || . "$conf"
while [ $# -gt 0 ]; do
  case $1 in
    --text) mode=text ;;
    --metrics) mode=metrics ;;
    --volume) VOLUME_NAME=${2:-}; shift ;;
    --mount-point) MOUNT_POINT=${2:-}; shift ;;
    --brick-path) BRICK_PATH=${2:-}; shift ;;
    -h | --help) usage ;;
    *) echo "gluster-health: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
for v in VOLUME_NAME MOUNT_POINT BRICK_PATH; do
  [ -n "${!v:-}" ] || { echo "gluster-health: $v not set (in $conf or as an option)" >&2; exit 2; }
done
command -v timeout >/dev/null 2>&1 || { echo "gluster-health: needs timeout (coreutils)" >&2; exit 2; }

# Every gluster call is bounded: glusterd waiting on a vanished peer must not hang the report.
g() { timeout -k 5 "${GLUSTER_TIMEOUT:-30}" gluster --mode=script "$@" 2>/dev/null; }

# Peers: connected / known, other than this node. glusterd keeps calling a peer whose power was cut "Connected"
# for minutes (its TCP connection sees no reset), so a peer counts only when its glusterd port also answers now.
peers_connected=-1 peers_total=-1 peer_names=""
# shellcheck disable=SC2016 # $0 is expanded by the inner bash (the peer name as its argument)
reachable() { timeout -k 1 3 bash -c 'exec 3<>"/dev/tcp/$0/24007"' "$1" 2>/dev/null; }
if out=$(g peer status); then
  peers_total=0 peers_connected=0
  while read -r name state; do
    peers_total=$((peers_total + 1))
    if [ "$state" = up ] && reachable "$name"; then
      peers_connected=$((peers_connected + 1))
    else
      state=DOWN
    fi
    peer_names+="${peer_names:+ }$name:$state"
  done < <(awk '/^Hostname:/ { h = $2 } /^State:/ { print h, ($0 ~ /Peer in Cluster \(Connected\)/) ? "up" : "down" }' <<<"$out")
fi

# Bricks, heal backlog and split-brain from one `heal info summary`: it asks every brick through a client of its own,
# so "Status: Connected" is whether the brick serves, not what glusterd believes (`volume status` can call a serving
# brick offline, and stalls for minutes on a peer that vanished). Counts are summed over the bricks that answered;
# unknown when none did.
bricks_total=-1 bricks_online=-1 heal_pending=-1 split_brain=-1 heal_lines=""
if info=$(g volume info "$VOLUME_NAME"); then
  bricks_total=$(grep -c '^Brick[0-9]*:' <<<"$info")
  bricks_online=0
  if out=$(g volume heal "$VOLUME_NAME" info summary); then
    read -r bricks_online heal_pending split_brain < <(awk '
      /^Status:/ { ok = ($0 ~ /: Connected$/); if (ok) answered++ }
      /^Total Number of entries:/ && ok { pending += $NF }
      /^Number of entries in split-brain:/ && ok { sb += $NF }
      END { if (answered) print answered, pending + 0, sb + 0; else print 0, -1, -1 }' <<<"$out")
    heal_lines=$(awk '/^Brick / { b = $2 } /^Status:/ { sub(/^Status: */, ""); s = ($0 == "Connected") ? "online" : "OFFLINE (" $0 ")" }
      /^Total Number of entries:/ { t = $NF } /^Number of entries in split-brain:/ { printf "%s  %s, pending %s, split-brain %s\n", b, s, t, $NF }' <<<"$out")
  fi
fi

# The volume mount: a FUSE glusterfs mount at the mount point (read from the mount table, which never blocks) that
# answers a stat within a few seconds. A client that lost its volume (ENOTCONN) or hangs counts as not mounted.
volume_mounted=0 mount_desc="not mounted"
mnt=$(findmnt -rn -o SOURCE,FSTYPE --mountpoint "$MOUNT_POINT" 2>/dev/null | awk '$2 == "fuse.glusterfs" { print $1; exit }')
if [ -n "$mnt" ]; then
  if timeout -k 2 "${STAT_TIMEOUT:-5}" stat -t "$MOUNT_POINT/." >/dev/null 2>&1; then
    volume_mounted=1 mount_desc="mounted from $mnt, answering"
  else
    mount_desc="mounted from $mnt but NOT answering (lost or hung client)"
  fi
fi

# Brick filesystem used percent: only when the brick's parent is a mounted filesystem (else df would measure the
# root disk).
brick_fs=${BRICK_PATH%/*}
disk_used=-1
if [ "$(findmnt -rn -o TARGET --mountpoint "$brick_fs" 2>/dev/null | head -n1)" = "$brick_fs" ]; then
  disk_used=$(timeout -k 2 10 df -P "$brick_fs" 2>/dev/null | awk 'NR == 2 { sub(/%/, "", $5); print $5 + 0 }')
  : "${disk_used:=-1}"
fi

# jailwatch bans in the last minute: the sum of every jail's "Total banned" now, minus that sum a minute ago (kept
# in /run, so a reboot starts afresh). 0 when jailwatch is not installed; -1 when it does not answer.
bans_last_minute=0
sum_total_banned() {
  local jails j n sum=0
  jails=$(timeout -k 2 10 jailwatch client status 2>/dev/null | sed -n 's/^`- Jail list:[[:space:]]*//p') || return 1
  [ -n "${jails//[ ,]/}" ] || { timeout -k 2 10 jailwatch client ping >/dev/null 2>&1 && echo 0; return; }
  for j in ${jails//,/ }; do
    n=$(timeout -k 2 10 jailwatch client status "$j" 2>/dev/null | sed -n 's/^.*Total banned:[[:space:]]*\([0-9]*\).*$/\1/p')
    [ -n "$n" ] || return 1
    sum=$((sum + n))
  done
  echo "$sum"
}
if command -v jailwatch >/dev/null 2>&1; then
  if total=$(sum_total_banned) && [ -n "$total" ]; then
    state=/run/ha-wordpress/gluster-health.bans now=$(date +%s)
    mkdir -p "${state%/*}" 2>/dev/null || true
    # Samples "EPOCH TOTAL"; the figure is now minus the newest sample at least 60 s old (or the oldest one).
    base=$(awk -v now="$now" '{ if (now - $1 >= 60) b = $2; else if (b == "" && first == "") first = $2 }
      END { if (b != "") print b; else if (first != "") print first }' "$state" 2>/dev/null)
    bans_last_minute=$(( total - ${base:-$total} ))
    [ "$bans_last_minute" -ge 0 ] || bans_last_minute=$total # jailwatch restarted: its totals began again
    { awk -v now="$now" 'now - $1 < 600' "$state" 2>/dev/null; echo "$now $total"; } >"$state.new" 2>/dev/null &&
      mv -f "$state.new" "$state" 2>/dev/null
  else
    bans_last_minute=-1
  fi
fi

# Whatever went wrong above, every figure is an integer (unknown: -1): a publisher never gets an empty value.
for v in peers_connected peers_total bricks_online bricks_total heal_pending split_brain volume_mounted disk_used bans_last_minute; do
  [[ ${!v} =~ ^-?[0-9]+$ ]] || printf -v "$v" '%s' -1
done
if [ "$mode" = metrics ]; then
  printf '%s %s\n' PeersConnected "$peers_connected" BricksOnline "$bricks_online" HealPending "$heal_pending" \
    SplitBrainEntries "$split_brain" VolumeMounted "$volume_mounted" BrickDiskUsedPercent "$disk_used" \
    JailwatchBansLastMinute "$bans_last_minute"
  exit 0
fi

problems=()
[ "$peers_connected" -ge 0 ] && [ "$peers_connected" = "$peers_total" ] || problems+=("peers")
[ "$bricks_online" -ge 0 ] && [ "$bricks_online" = "$bricks_total" ] || problems+=("bricks")
[ "$heal_pending" = 0 ] || problems+=("heal backlog")
[ "$split_brain" = 0 ] || problems+=("split-brain")
[ "$volume_mounted" = 1 ] || problems+=("mount")
[ "$disk_used" -ge 0 ] && [ "$disk_used" -lt 90 ] || problems+=("brick disk")
unknown() { if [ "$1" -lt 0 ]; then echo "unknown"; else echo "$1"; fi; }
verdict=healthy
[ "${#problems[@]}" -eq 0 ] || verdict="UNHEALTHY (${problems[*]})"
echo "gluster health of $(hostname), volume $VOLUME_NAME: $verdict"
echo "  peers        $(unknown "$peers_connected")/$(unknown "$peers_total") connected  $peer_names"
echo "  bricks       $(unknown "$bricks_online")/$(unknown "$bricks_total") online"
[ -z "$heal_lines" ] || awk '{ print "                 " $0 }' <<<"$heal_lines"
echo "  heal backlog $(unknown "$heal_pending") entries pending (summed over the bricks online)"
echo "  split-brain  $(unknown "$split_brain") entries"
echo "  mount        $MOUNT_POINT $mount_desc"
echo "  brick disk   $(unknown "$disk_used")% used ($brick_fs)"
echo "  jailwatch    $(if command -v jailwatch >/dev/null 2>&1; then echo "$(unknown "$bans_last_minute") bans in the last minute"; else echo "not installed"; fi)"
exit 0

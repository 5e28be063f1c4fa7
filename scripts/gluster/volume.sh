# shellcheck shell=bash
# Host step "volume" (runs on node 1): the replicated volume exists with our options and is started.
# Parameters: VOLUME_NAME, REPLICA, BRICKS (space-separated host:/path, in node order), PING_TIMEOUT (seconds),
# EXPECTED_CONNECTED (peers node 1 must see connected), NODE_COUNT and NODE_IP_<i> (the nodes' private addresses,
# the only clients the bricks accept), TUNING (optional: one "option value" per line, the volume options for the PHP
# workload from glusterPlan.ts's PHP_VOLUME_TUNING, where each one is justified).
# "Already exists" and "already started" are success. An existing volume with other bricks is an error, never changed.
need VOLUME_NAME REPLICA BRICKS PING_TIMEOUT EXPECTED_CONNECTED
[[ $VOLUME_NAME =~ ^[A-Za-z0-9_-]+$ ]] || die "VOLUME_NAME '$VOLUME_NAME' is not a valid volume name"
[[ $REPLICA =~ ^[0-9]+$ && $PING_TIMEOUT =~ ^[0-9]+$ && $EXPECTED_CONNECTED =~ ^[0-9]+$ ]] ||
  die "REPLICA, PING_TIMEOUT and EXPECTED_CONNECTED must be numbers"
read -r -a brick_list <<<"$BRICKS"
need NODE_COUNT
[[ $NODE_COUNT =~ ^[1-9][0-9]*$ ]] || die "NODE_COUNT '$NODE_COUNT' is not a positive number"
clients=
for ((i = 1; i <= NODE_COUNT; i++)); do
  need "NODE_IP_$i"
  ip_var="NODE_IP_$i"
  is_ipv4 "${!ip_var}" || die "NODE_IP_$i '${!ip_var}' is not an IPv4 address"
  clients+=${clients:+,}${!ip_var}
done

g() { gluster --mode=script "$@"; }
connected_peers() { { g peer status 2>/dev/null || true; } | grep -c 'Peer in Cluster (Connected)' || true; }
enough_peers() { [ "$(connected_peers)" -ge "$EXPECTED_CONNECTED" ]; }

# retry SECONDS ARGS...: runs `gluster ARGS`, retrying while a peer is briefly unreachable or busy (staging and lock
# errors right after peering); "already ..." counts as done; any other failure is final.
retry() {
  local seconds=$1 out deadline
  shift
  deadline=$(($(date +%s) + seconds))
  while :; do
    if out=$(g "$@" 2>&1); then
      log "gluster $*: $out"
      return 0
    fi
    case $out in
      *"already exists"* | *"already started"*)
        log "gluster $*: $out (ok)"
        return 0
        ;;
      *"not connected"* | *"Staging failed"* | *"Locking failed"* | *"Another transaction"* | *"Commit failed"* | *"quorum"*)
        [ "$(date +%s)" -lt "$deadline" ] || die "gluster $* kept failing for ${seconds}s: $out"
        log "gluster $*: $out (retrying)"
        sleep 3
        ;;
      *) die "gluster $* failed: $out" ;;
    esac
  done
}

wait_until 300 "$EXPECTED_CONNECTED peers connected as seen from node 1" enough_peers

if info=$(g volume info "$VOLUME_NAME" 2>/dev/null); then
  existing=$(awk '/^Brick[0-9]+:/ { printf "%s%s", sep, $2; sep = " " }' <<<"$info")
  [ "$existing" = "${brick_list[*]}" ] ||
    die "volume $VOLUME_NAME already exists with bricks '$existing', expected '${brick_list[*]}'; refusing to change it"
  log "volume $VOLUME_NAME already exists"
else
  retry 180 volume create "$VOLUME_NAME" replica "$REPLICA" transport tcp "${brick_list[@]}"
fi

# set_option NAME VALUE: unless `volume info` already lists it with that value (each change regenerates the volfiles
# and reconnects every client). Set explicitly even when it is gluster's default: defaults differ between versions
# and volume types, and `volume info` then shows what the cluster relies on.
set_option() {
  local current
  current=$({ g volume info "$VOLUME_NAME" 2>/dev/null || true; } | awk -v o="$1:" '$1 == o { print $2 }')
  if [ "$current" = "$2" ]; then
    log "$1 already $2"
  else
    retry 120 volume set "$VOLUME_NAME" "$1" "$2"
  fi
}
# Quorum: a write needs a majority of bricks (client side) and a brick process needs a majority of servers, so a
# partitioned node cannot diverge (split brain). A short ping-timeout bounds the stall when a node vanishes.
set_option cluster.quorum-type auto
set_option cluster.server-quorum-type server
set_option network.ping-timeout "$PING_TIMEOUT"
set_option nfs.disable on
# Only the nodes may connect to the bricks: the security group already admits only them, and this holds when a rule
# is widened by mistake or another instance lands in the group. The nodes are the only clients (each mounts the
# volume itself); a replaced node's new address arrives with this step, which runs again before its mount step.
set_option auth.allow "$clients"

# The workload's options. Each must exist in this GlusterFS (`volume get` answers for known options only): a name
# from another version is an error here, not a silent no-op or a half-applied group.
while read -r opt value; do
  [ -n "$opt" ] || continue
  g volume get "$VOLUME_NAME" "$opt" >/dev/null 2>&1 ||
    die "volume option $opt is unknown to this GlusterFS ($(gluster --version 2>/dev/null | head -n1))"
  set_option "$opt" "$value"
done <<<"${TUNING:-}"

bricks_online() { [ "$(g volume status "$VOLUME_NAME" detail 2>/dev/null | grep -cE '^Online +: Y' || true)" -ge "${#brick_list[@]}" ]; }

status=$(g volume info "$VOLUME_NAME" | awk -F': ' '/^Status:/ { print $2 }')
if [ "$status" != Started ]; then
  retry 180 volume start "$VOLUME_NAME"
elif bricks_online; then
  log "volume $VOLUME_NAME already started"
else
  # glusterd starts a node's brick only when glusterd itself starts; a brick filesystem mounted later (a lost fstab
  # line, a volume attached late) stays offline until started again. `start force` starts only the offline bricks and
  # never serves a brick directory that lacks the volume's id, so an unmounted brick is not replaced by the root disk.
  log "volume $VOLUME_NAME started but a brick is offline: volume start force"
  retry 180 volume start "$VOLUME_NAME" force
fi

wait_until 180 "all ${#brick_list[@]} bricks of $VOLUME_NAME online" bricks_online
log "volume $VOLUME_NAME started, ${#brick_list[@]} bricks online"

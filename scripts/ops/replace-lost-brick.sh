# shellcheck shell=bash
# Runbook "replace a dead node whose brick is lost", on the NEW node: a new instance with a new, empty brick volume
# under the dead node's name. The other nodes know that name only by the dead node's glusterd UUID, and nothing on
# the new brick remembers it (the identity step found none). This step takes the dead node's UUID back (read from a
# surviving peer) with its peers, rejoins the pool, makes the empty brick directory the volume's brick again (`reset-brick ...
# commit force`) and starts a full heal, which copies every file onto it from the other two.
# Run after the node's hosts, install, brick and identity steps, before its peers step; then the rest of the plan.
# Parameters: VOLUME_NAME, BRICK_PATH, NODE_NAME (this node's name in the pool), PEER (a surviving node).
# Safe to run twice: a node already in the pool is not touched, a brick that is already the volume's is not reset.
need VOLUME_NAME BRICK_PATH NODE_NAME PEER
g() { gluster --mode=script "$@"; }
info=/var/lib/glusterd/glusterd.info
mount_point=${BRICK_PATH%/*}
mountpoint -q "$mount_point" || die "brick filesystem $mount_point is not mounted (run the brick step first)"
[ -d "$BRICK_PATH" ] || die "brick directory $BRICK_PATH missing (run the brick step first)"

# The pool as a survivor knows it (a read-only query to its glusterd): the dead node's UUID, and every other member.
pool=$(g --remote-host="$PEER" pool list 2>/dev/null | awk 'NR > 1 { print $1, $2 }') ||
  die "cannot read the pool from $PEER"
old_uuid=$(awk -v n="$NODE_NAME" '$2 == n { print $1 }' <<<"$pool")
[ -n "$old_uuid" ] || die "$PEER does not list $NODE_NAME in its pool: nothing to replace (or $PEER is not reachable)"
current_uuid=$(sed -n 's/^UUID=//p' "$info" 2>/dev/null || true)
if [ "$current_uuid" = "$old_uuid" ]; then
  log "glusterd already has $NODE_NAME's identity $old_uuid"
else
  if [ -n "$(ls -A /var/lib/glusterd/peers 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/glusterd/vols 2>/dev/null)" ]; then
    die "this glusterd ($current_uuid) already has peers or volumes; refusing to take $NODE_NAME's identity $old_uuid"
  fi
  log "taking $NODE_NAME's identity $old_uuid (this glusterd was ${current_uuid:-new}) and its peers from $PEER"
  systemctl stop glusterd.service
  if [ -f "$info" ]; then sed -i "s/^UUID=.*/UUID=$old_uuid/" "$info"; else printf 'UUID=%s\n' "$old_uuid" >"$info"; fi
  # The peers as the dead node knew them (state 3: in the cluster); the survivor lists itself as "localhost".
  mkdir -p /var/lib/glusterd/peers
  while read -r uuid name; do
    [ "$uuid" != "$old_uuid" ] || continue
    [ "$name" != localhost ] || name=$PEER
    printf 'uuid=%s\nstate=3\nhostname1=%s\n' "$uuid" "$name" >"/var/lib/glusterd/peers/$uuid"
  done <<<"$pool"
  systemctl start glusterd.service
  wait_until 60 "glusterd to answer" g pool list
fi

expected=$(wc -l <<<"$pool")
all_peers() { [ "$(g peer status | grep -c 'Peer in Cluster (Connected)' || true)" -ge "$((expected - 1))" ]; }
wait_until 120 "every peer connected" all_peers
# The volume's definition: glusterd takes it from its peers when they connect; `volume sync` asks for it outright.
knows_volume() { g volume info "$VOLUME_NAME" >/dev/null 2>&1; }
if ! knows_volume; then
  out=$(g volume sync "$PEER" all 2>&1) || log "volume sync $PEER all: $out"
fi
wait_until 120 "volume $VOLUME_NAME known to this node (synced from $PEER)" knows_volume

brick="$NODE_NAME:$BRICK_PATH"
brick_online() { g volume status "$VOLUME_NAME" "$brick" detail 2>/dev/null | grep -qE '^Online +: Y'; }
vol_id=$(g volume info "$VOLUME_NAME" | sed -n 's/^Volume ID: //p' | tr -d -)
have=$({ getfattr --absolute-names -n trusted.glusterfs.volume-id -e hex "$BRICK_PATH" 2>/dev/null || true; } |
  sed -n 's/^trusted.glusterfs.volume-id=0x//p')
if [ "$have" = "$vol_id" ]; then
  log "$brick already is a brick of $VOLUME_NAME"
else
  [ -z "$have" ] || die "$BRICK_PATH carries volume id $have, not $VOLUME_NAME's $vol_id; refusing to reset it"
  [ -z "$(ls -A "$BRICK_PATH")" ] || die "$BRICK_PATH is not empty; this runbook is for a new, empty brick"
  # The brick keeper (scripts/gluster/brick.sh) runs `volume start force` every 30 s while this brick is down, and
  # its transaction would make the reset-brick below fail ("Another transaction is in progress"): it waits until
  # the brick is the volume's again. Started again whatever happens (the trap), since it also keeps glusterd up.
  if systemctl is-active --quiet ha-wordpress-brick.service; then
    systemctl stop ha-wordpress-brick.service
    trap 'systemctl start ha-wordpress-brick.service' EXIT
  fi
  # The volume came from the peers after glusterd started: a restart makes it resolve the volume's bricks, this
  # node's own among them, so that it runs that brick.
  systemctl restart glusterd.service
  wait_until 60 "glusterd to answer" g pool list
  wait_until 120 "every peer connected" all_peers
  # `start` takes the (dead) brick out of service; `commit force` accepts the same path, now empty, as its brick.
  # Right after the restart the other nodes may not see this one connected yet ("Host ... not connected" in their
  # pre-validation), though this node sees them, and another node's transaction may hold the volume's lock (its
  # keeper, a metrics run): both are retried, anything else is an answer (sets out and rc).
  retry_connected() {
    local deadline=$(($(date +%s) + 120))
    while :; do
      rc=0
      out=$(g "$@" 2>&1) || rc=$?
      if [ "$rc" -eq 0 ] || [[ $out != *"not connected"* && $out != *"Another transaction"* && $out != *"Locking failed"* ]] ||
        [ "$(date +%s)" -ge "$deadline" ]; then return 0; fi
      log "gluster $*: $out (retrying)"
      sleep 3
    done
  }
  # glusterd starts its local bricks when it regains server quorum, which can come a moment after this node sees its
  # peers: a brick taken out by `start` just before is then back in service, and commit answers "Source brick must
  # be stopped". Start and commit are tried again together then (a few times; anything else is an answer).
  for attempt in 1 2 3 4 5; do
    retry_connected volume reset-brick "$VOLUME_NAME" "$brick" start
    log "reset-brick $brick start: $out"
    start_out=$out
    # A refused start is fatal unless the brick is down anyway (a second run after a failed commit): commit would
    # only answer "Source brick must be stopped" and hide the reason start gave.
    if [ "$rc" -ne 0 ] && brick_online; then die "reset-brick $brick start failed: $out"; fi
    retry_connected volume reset-brick "$VOLUME_NAME" "$brick" "$brick" commit force
    if [ "$rc" -eq 0 ] || [[ $out != *"must be stopped"* ]] || [ "$attempt" -eq 5 ]; then break; fi
    log "reset-brick $brick commit: $out (glusterd put the brick back in service after start: again, attempt $((attempt + 1)))"
    sleep 5
  done
  if [ "$rc" -eq 0 ]; then
    log "reset-brick $brick: $out"
  else
    case $out in
      *"destination brick is new"*)
        # This glusterd took back the dead node's identity, yet sees the path as new and sends us to replace-brick
        # (which needs another path, so the plan's brick list would no longer match). gluster's procedure for a host
        # replaced under the same name instead: the empty directory gets the volume's id, `start force` runs it.
        log "reset-brick $brick refused ($out): giving $BRICK_PATH the volume id and starting it"
        setfattr -n trusted.glusterfs.volume-id -v "0x$vol_id" "$BRICK_PATH"
        out=$(g volume start "$VOLUME_NAME" force 2>&1) || die "volume start $VOLUME_NAME force failed: $out"
        log "volume start $VOLUME_NAME force: $out"
        ;;
      *) die "reset-brick failed: $out (start had answered: $start_out)" ;;
    esac
  fi
fi
wait_until 120 "brick $brick online" brick_online
# Index heal only knows what changed while a brick was away; an empty brick needs every file: a full crawl.
out=$(g volume heal "$VOLUME_NAME" full 2>&1) || die "heal full failed: $out"
log "heal full: $out (wait for it with the healed step: gluster/healed.sh)"

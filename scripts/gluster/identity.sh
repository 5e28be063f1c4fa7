# shellcheck shell=bash
# Host step "identity": the node's glusterd identity (its UUID and its view of the peers) kept on its brick
# filesystem, outside the brick directory. The brick volume outlives the instance, and the other nodes know this
# node only by that UUID and refuse any other, so a replacement instance takes the identity back before anything
# probes it (gluster's "replace a host with the same hostname" procedure) instead of being refused as a stranger.
# Parameters: ACTION (restore: after the brick is mounted, before the peers step; save: once this host sees its
# peers), BRICK_PATH (brick directory; its parent is the brick mount point).
need ACTION BRICK_PATH
[[ $BRICK_PATH =~ ^(/[A-Za-z0-9._-]+){2,}$ ]] || die "BRICK_PATH '$BRICK_PATH' must be an absolute path below a mount point"
mount_point=${BRICK_PATH%/*}
mountpoint -q "$mount_point" || die "$mount_point is not mounted (the brick step runs first)"
saved_state=$mount_point/.ha-wordpress/glusterd
info=/var/lib/glusterd/glusterd.info

save() {
  [ -f "$info" ] || die "no $info: glusterd has no identity to save"
  if [ -f "$saved_state/glusterd.info" ] && cmp -s "$info" "$saved_state/glusterd.info" &&
     diff -r -q /var/lib/glusterd/peers "$saved_state/peers" >/dev/null 2>&1; then
    log "glusterd identity $(sed -n 's/^UUID=//p' "$info") already saved on $mount_point"
    return 0
  fi
  # Build aside, then swap: a crash leaves either the old or the new copy, never half of one.
  rm -rf "$saved_state.new"
  mkdir -p "$saved_state.new/peers"
  cp "$info" "$saved_state.new/"
  cp -rp /var/lib/glusterd/peers/. "$saved_state.new/peers/"
  rm -rf "$saved_state.old"
  if [ -d "$saved_state" ]; then mv "$saved_state" "$saved_state.old"; fi
  mv "$saved_state.new" "$saved_state"
  rm -rf "$saved_state.old"
  log "glusterd identity $(sed -n 's/^UUID=//p' "$saved_state/glusterd.info") saved on $mount_point"
}

# A glusterd that already has peers or volumes is never rewritten.
restore() {
  # An interrupted save left the copy aside: the old one is the last complete one.
  if ! [ -d "$saved_state" ] && [ -d "$saved_state.old" ]; then mv "$saved_state.old" "$saved_state"; fi
  if ! [ -f "$saved_state/glusterd.info" ]; then
    log "no saved glusterd identity on $mount_point (a new brick): nothing to restore"
    return 0
  fi
  local saved_uuid current_uuid
  saved_uuid=$(sed -n 's/^UUID=//p' "$saved_state/glusterd.info")
  current_uuid=$(sed -n 's/^UUID=//p' "$info" 2>/dev/null || true)
  if [ -z "$saved_uuid" ] || [ "$saved_uuid" = "$current_uuid" ]; then
    log "glusterd is ${current_uuid:-unknown}, the identity saved on the brick: nothing to restore"
    return 0
  fi
  if [ -n "$(ls -A /var/lib/glusterd/peers 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/glusterd/vols 2>/dev/null)" ]; then
    die "brick on $mount_point belongs to glusterd $saved_uuid, but this host is glusterd $current_uuid and already has peers or volumes; refusing to mix identities"
  fi
  log "brick belongs to glusterd $saved_uuid (this host: ${current_uuid:-none}): taking that identity back (replaced instance)"
  systemctl stop glusterd.service
  if [ -f "$info" ]; then sed -i "s/^UUID=.*/UUID=$saved_uuid/" "$info"; else printf 'UUID=%s\n' "$saved_uuid" >"$info"; fi
  mkdir -p /var/lib/glusterd/peers
  cp -rp "$saved_state/peers/." /var/lib/glusterd/peers/
  systemctl start glusterd.service
  wait_until 60 "glusterd to answer after taking back its identity" gluster --mode=script pool list
  log "now glusterd $(sed -n 's/^UUID=//p' "$info") with $(find /var/lib/glusterd/peers -type f | wc -l) known peers"
}

case "$ACTION" in
  save) save ;;
  restore) restore ;;
  *) die "ACTION must be 'save' or 'restore', got '$ACTION'" ;;
esac

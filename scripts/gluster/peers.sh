# shellcheck shell=bash
# Host step "peers": probes the named peers from this host, then waits until this host sees the expected number of
# peers "Peer in Cluster (Connected)".
# Parameters: PROBE (space-separated host names to probe), EXPECTED_CONNECTED (peers this host must see connected),
# BRICK_PATH (optional: the brick directory; once connected, this host's glusterd identity is saved beside it).
# Node 1 probes all others; every other node probes node 1 back (so node 1's name, not its address, is recorded) and
# waits for its own view. FACTS.md: `volume create` failed while node 1 saw both peers but node 2 did not yet see
# node 3, so the volume step waits for every node's step, not just node 1's.
need PROBE EXPECTED_CONNECTED
[[ $EXPECTED_CONNECTED =~ ^[0-9]+$ ]] || die "EXPECTED_CONNECTED '$EXPECTED_CONNECTED' is not a number"

connected_peers() { { gluster --mode=script peer status 2>/dev/null || true; } | grep -c 'Peer in Cluster (Connected)' || true; }
enough_peers() { [ "$(connected_peers)" -ge "$EXPECTED_CONNECTED" ]; }

probe() {
  local name=$1 out deadline
  deadline=$(($(date +%s) + 180))
  while :; do
    if out=$(gluster --mode=script peer probe "$name" 2>&1); then
      log "$out"
      return 0
    fi
    case $out in
      *"another cluster"* | *"having volumes"*) die "peer probe $name refused: $out" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || die "peer probe $name kept failing: $out"
    sleep 2
  done
}

for name in $PROBE; do probe "$name"; done
wait_until 300 "$EXPECTED_CONNECTED peers in state 'Peer in Cluster (Connected)'" enough_peers
log "sees $(connected_peers) connected peers"
gluster --mode=script pool list

# Save this host's glusterd identity (its UUID and its view of the peers) on the brick filesystem, outside the brick
# directory: the brick volume outlives the instance, and a replacement instance takes this identity back in the
# brick step (gluster's "replace a host with the same hostname" procedure) instead of being refused as a stranger.
if [ -n "${BRICK_PATH:-}" ]; then
  brick_mount=${BRICK_PATH%/*}
  mountpoint -q "$brick_mount" || die "$brick_mount is not mounted; cannot save the glusterd identity"
  state=$brick_mount/.ha-wordpress/glusterd
  mkdir -p "$state.new/peers"
  cp /var/lib/glusterd/glusterd.info "$state.new/"
  cp -rp /var/lib/glusterd/peers/. "$state.new/peers/"
  rm -rf "$state.old"
  if [ -d "$state" ]; then mv "$state" "$state.old"; fi
  mv "$state.new" "$state"
  rm -rf "$state.old"
  log "glusterd identity $(sed -n 's/^UUID=//p' "$state/glusterd.info") saved on $brick_mount"
fi

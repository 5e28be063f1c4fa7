# shellcheck shell=bash
# Host step "peers": probes the named peers from this host, then waits until this host sees the expected number of
# peers "Peer in Cluster (Connected)".
# Parameters: PROBE (space-separated host names to probe), EXPECTED_CONNECTED (peers this host must see connected).
# The identity-save step (gluster/identity.sh) then keeps this host's glusterd identity on its brick.
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

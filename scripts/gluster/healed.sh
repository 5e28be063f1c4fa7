# shellcheck shell=bash
# Host step "healed" (the rolling gate): succeeds once every brick of the volume is online and no brick has entries
# left to heal. GlusterCluster makes the next node's instance wait for this step on the previous node, so a change
# that stops instances in place (a new instance type) reaches one node at a time, each after the volume has healed
# from the last: two nodes down at once would lose the replica-3 quorum and the site.
# Parameters: VOLUME_NAME, HEAL_TIMEOUT (seconds to wait, default 1800; on timeout the step fails and the rollout
# stops before the next node).
need VOLUME_NAME
if ! command -v gluster >/dev/null 2>&1 || ! gluster --mode=script volume info "$VOLUME_NAME" >/dev/null 2>&1; then
  log "no volume $VOLUME_NAME yet (first deployment): nothing to wait for"
  exit 0
fi

bricks_total() { gluster --mode=script volume info "$VOLUME_NAME" | sed -n 's/^Number of Bricks: .*= *\([0-9]*\)$/\1/p; s/^Number of Bricks: *\([0-9]*\)$/\1/p' | head -n1; }
bricks_online() { gluster --mode=script volume status "$VOLUME_NAME" detail | grep -c '^Online *: *Y' || true; }
pending_heals() {
  local out
  out=$(gluster --mode=script volume heal "$VOLUME_NAME" info summary 2>/dev/null) || return 1
  # Every brick reports its counts only while it is connected; a brick without them is not healed.
  [ "$(grep -c '^Status: Connected' <<<"$out")" -ge "$(bricks_total)" ] || return 1
  awk -F: '/^Total Number of entries:/ { s += $2 } END { print s + 0 }' <<<"$out"
}
healed() {
  local total pending
  total=$(bricks_total)
  [ -n "$total" ] && [ "$(bricks_online)" -ge "$total" ] || return 1
  pending=$(pending_heals) || return 1
  [ "$pending" -eq 0 ]
}
wait_until "${HEAL_TIMEOUT:-1800}" "every brick of $VOLUME_NAME online and nothing left to heal" healed
log "volume $VOLUME_NAME: $(bricks_total) bricks online, nothing to heal"

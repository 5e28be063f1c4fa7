# shellcheck shell=bash
# Host step: jailwatch's configuration directory (/etc/jailwatch), written from a bundle of files, tested with
# `jailwatch -t` BEFORE it replaces the live one, so a bad config never reaches the running daemon.
# Files this step wrote earlier and no longer ships are removed; files an operator added are left alone.
# Params: FILES (one line per file: "RELATIVE_PATH BASE64_CONTENT": the shipped watcher/config files),
#   IGNORE_IP (addresses/CIDRs never banned, besides loopback), JAIL_OVERRIDES (jail.local sections after [DEFAULT]),
#   PEERS (the other nodes' addresses, space-separated; empty: no ban sharing), PEER_LISTEN (this node's address),
#   PEER_PORT, PEER_SECRET (secret shared by the nodes; written to peer.secret, 0600, never echoed),
#   METRICS_LISTEN (jailwatch's Prometheus endpoint: PORT on loopback, or HOST:PORT; empty: no endpoint).
need FILES IGNORE_IP
live=/etc/jailwatch
manifest="$live/.ha-managed"
command -v jailwatch >/dev/null || die "jailwatch not installed (binary step)"
# A run that died between the two renames of the swap below left the old tree aside: put it back first.
if [ -d "$live.previous" ] && ! [ -d "$live" ]; then mv "$live.previous" "$live"; fi

stage=$(mktemp -d /etc/.jailwatch.stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
# Start from the live directory, so operator files take part in the test exactly as they will live.
if [ -d "$live" ]; then cp -a "$live/." "$stage/"; fi
if [ -f "$manifest" ]; then
  while read -r rel; do [ -n "$rel" ] && rm -f "${stage:?}/$rel"; done <"$manifest"
fi

written=()
while read -r rel b64; do
  [ -n "$rel" ] || continue
  case "$rel" in /*|*..*) die "bundle path '$rel' must be relative and stay inside $live" ;; esac
  mkdir -p "$stage/$(dirname "$rel")"
  printf '%s' "$b64" | base64 -d >"$stage/$rel"
  chmod 0644 "$stage/$rel"
  written+=("$rel")
done <<<"$FILES"
printf '# Written by ha-wordpress (scripts/jail/config.sh); edits are overwritten.\n[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 %s\n\n%s\n' \
  "$IGNORE_IP" "${JAIL_OVERRIDES:-}" >"$stage/jail.local"
written+=(jail.local)
server_local=""
if [ -n "${PEERS:-}" ]; then
  need PEER_SECRET PEER_LISTEN PEER_PORT
  ( umask 077; printf '%s' "$PEER_SECRET" >"$stage/peer.secret" )
  server_local=$(printf '# Written by ha-wordpress: bans are shared with the other nodes, messages signed with peer.secret.\n[server]\npeers = %s\npeerport = %s\npeerlisten = %s\npeersecretfile = %s\n' \
    "$PEERS" "$PEER_PORT" "$PEER_LISTEN" "$live/peer.secret")
  written+=(peer.secret)
fi
if [ -n "${METRICS_LISTEN:-}" ]; then
  case "$METRICS_LISTEN" in *[!A-Za-z0-9.:\[\]-]*) die "METRICS_LISTEN '$METRICS_LISTEN' is not PORT or HOST:PORT" ;; esac
  [ -n "$server_local" ] || server_local=$(printf '# Written by ha-wordpress.\n[server]')
  server_local=$(printf '%s\n# Prometheus metrics (loopback unless an address is given).\nmetricslisten = %s' "$server_local" "$METRICS_LISTEN")
fi
if [ -n "$server_local" ]; then
  printf '%s\n' "$server_local" >"$stage/jailwatch.local"
  written+=(jailwatch.local)
fi
printf '%s\n' "${written[@]}" >"$stage/.ha-managed"
chmod 0700 "$stage"

jailwatch -t -c "$stage" >/dev/null 2>"$stage.err" || { cat "$stage.err" >&2; rm -f "$stage.err"; die "jailwatch -t rejected the new configuration; the live one is unchanged"; }
rm -f "$stage.err"

if [ -d "$live" ] && diff -r -q "$live" "$stage" >/dev/null 2>&1; then
  log "configuration unchanged (${#written[@]} files)"
  exit 0
fi
# Swap directories: readers see either the old or the new tree, never half of each.
if [ -d "$live" ]; then
  rm -rf "$live.previous"
  mv "$live" "$live.previous"
fi
mv "$stage" "$live"
trap - EXIT
rm -rf "$live.previous"
log "configuration written (${#written[@]} files)"

# shellcheck shell=bash
# Host step "mount": the volume mounted at the mount point through fstab, and a write proven.
# Parameters: VOLUME_NAME, MOUNT_POINT, SERVER (the node this host mounts from: the seed's ring, 1 from 2, 2 from 3,
# 3 from 1), BACKUP_SERVERS (colon-separated: the other nodes, tried when SERVER is down; empty for a single node),
# NODE_NAME (this node), BRICK_PATH (this node's brick directory) and HEALTH_SCRIPT (the text of
# scripts/gluster/health.sh, installed as gluster-health with the three parameters it reports on).
need VOLUME_NAME MOUNT_POINT SERVER NODE_NAME BRICK_PATH HEALTH_SCRIPT
require_systemd
[[ $MOUNT_POINT =~ ^(/[A-Za-z0-9._-]+)+$ ]] || die "MOUNT_POINT '$MOUNT_POINT' must be an absolute path"
source_spec="$SERVER:/$VOLUME_NAME"

# findmnt exits 1 when nothing is mounted there; under pipefail that must not fail the step.
mounted_fstype() { { findmnt -rno FSTYPE --mountpoint "$MOUNT_POINT" 2>/dev/null || true; } | head -n1; }
# Something else mounted there (a local disk, tmpfs) is the operator's: refuse before touching fstab.
fstype=$(mounted_fstype)
[ -z "$fstype" ] || [ "$fstype" = fuse.glusterfs ] || die "$MOUNT_POINT is already a $fstype mount; unmount it first"

# _netdev orders the mount after the network at boot; backup-volfile-servers lets it succeed while SERVER is down.
# x-systemd.after (ordering only) prefers the local glusterd when both start at boot, but the mount never depends on
# it: with x-systemd.requires a restart of glusterd (a package upgrade runs one) would unmount the web root.
# nofail: a failed mount at boot does not fail the boot; the watchdog below retries it.
options="defaults,_netdev,nofail"
if [ -n "${BACKUP_SERVERS:-}" ]; then options+=",backup-volfile-servers=$BACKUP_SERVERS"; fi
options+=",x-systemd.after=glusterd.service"
line="$source_spec $MOUNT_POINT glusterfs $options 0 0"
if fstab_set "$MOUNT_POINT" "$line"; then
  log "fstab: $line"
else
  log "fstab line for $MOUNT_POINT already present"
fi

# A mount that fails at boot is never retried by systemd (and there is no autofs for an automount): when all three
# nodes boot at once the volume may not answer yet ("All subvolumes are down"). The watchdog mounts the volume
# until it answers, and remounts it when its client has lost the volume ("Transport endpoint is not connected"),
# so a node always comes back by itself. Until then /healthz says 503 and the load balancer keeps the node out.
mount_unit=$(unit_name "$MOUNT_POINT" mount)
watchdog=/usr/local/lib/ha-wordpress/volume-watchdog
watch_changed=0
# shellcheck disable=SC2016 # the watchdog's own variables, expanded when it runs
write_if_changed "$watchdog" '#!/bin/bash
# Written by ha-wordpress (scripts/gluster/mount.sh). Usage: volume-watchdog MOUNT_POINT MOUNT_UNIT
set -u
mp=$1 unit=$2 bad=0
while :; do
  if mountpoint -q "$mp"; then
    # A client that lost its volume still shows as mounted; stat fails (ENOTCONN) instead of answering.
    if timeout 30 stat -t "$mp/." >/dev/null 2>&1; then
      bad=0
    else
      bad=$((bad + 1))
      if [ "$bad" -ge 3 ]; then
        echo "$mp does not answer (volume lost by its client): unmounting to mount again"
        umount -l "$mp"
        bad=0
      fi
    fi
  else
    systemctl reset-failed "$unit" 2>/dev/null
    if timeout 120 systemctl start "$unit" 2>/dev/null && mountpoint -q "$mp"; then
      echo "mounted $mp"
    else
      echo "mount of $mp failed (volume not answering yet); trying again"
    fi
  fi
  sleep 3
done' 0755 && watch_changed=1
write_if_changed /etc/systemd/system/ha-wordpress-volume.service "# Written by ha-wordpress (scripts/gluster/mount.sh).
[Unit]
Description=Keep the Gluster volume $VOLUME_NAME mounted at $MOUNT_POINT
Wants=network-online.target
After=network-online.target $mount_unit

[Service]
Type=simple
ExecStart=$watchdog $MOUNT_POINT $mount_unit
Restart=always
RestartSec=3

[Install]
WantedBy=multi-user.target" 0644 && watch_changed=1
if [ "$watch_changed" = 1 ]; then systemctl daemon-reload; fi
systemctl enable --quiet ha-wordpress-volume.service

fstype=$(mounted_fstype)
# A client that crashed leaves its mount behind, answering "Transport endpoint is not connected": that is not
# "already mounted". Unmount it (lazily: nothing can use it any more) and mount again.
if [ "$fstype" = fuse.glusterfs ] && ! timeout 30 stat -t "$MOUNT_POINT/." >/dev/null 2>&1; then
  log "$MOUNT_POINT is the mount of a client that lost the volume: unmounting it to mount again"
  umount -l "$MOUNT_POINT"
  fstype=$(mounted_fstype)
fi
mkdir -p "$MOUNT_POINT"
if [ "$fstype" = fuse.glusterfs ]; then
  log "$MOUNT_POINT already mounted ($(findmnt -rno SOURCE --mountpoint "$MOUNT_POINT" | head -n1))"
else
  if [ -n "$(ls -A "$MOUNT_POINT")" ]; then log "note: $MOUNT_POINT is not empty; the volume mount hides its files"; fi
  # Mount through the fstab line's unit, as the boot does: a broken line fails here rather than at the next boot,
  # and the client process lives in the mount's own cgroup, not in this SSH session's.
  try_mount() { [ "$(mounted_fstype)" = fuse.glusterfs ] || { systemctl reset-failed "$mount_unit" 2>/dev/null; systemctl start "$mount_unit"; }; }
  wait_until 120 "mount of $source_spec on $MOUNT_POINT" try_mount
  log "mounted $source_spec on $MOUNT_POINT"
fi

# Prove the mount takes writes: write, read back, remove a probe named for this node.
probe="$MOUNT_POINT/.ha-wordpress-probe-$NODE_NAME"
token="$NODE_NAME $(date -u +%Y-%m-%dT%H:%M:%SZ) $$"
printf '%s\n' "$token" >"$probe"
[ "$(cat "$probe")" = "$token" ] || die "probe file $probe did not read back what was written"
rm -f "$probe"
log "write to $MOUNT_POINT proven"
# The health report (`gluster-health --text|--metrics`): what `npm run lab -- status` shows and the metrics publish.
health=/usr/local/lib/ha-wordpress/gluster-health
if write_if_changed "$health" "$HEALTH_SCRIPT" 0755; then log "installed $health"; fi
if write_if_changed /etc/ha-wordpress/gluster-health.conf "# Written by ha-wordpress (scripts/gluster/mount.sh): what $health reports on.
VOLUME_NAME=$VOLUME_NAME
MOUNT_POINT=$MOUNT_POINT
BRICK_PATH=$BRICK_PATH" 0644; then log "wrote /etc/ha-wordpress/gluster-health.conf"; fi
if [ "$watch_changed" = 1 ] && systemctl is-active --quiet ha-wordpress-volume.service; then
  systemctl restart ha-wordpress-volume.service
else
  systemctl start ha-wordpress-volume.service
fi

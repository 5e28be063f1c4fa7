# shellcheck shell=bash
# Host step "mount": the volume mounted at the mount point through fstab, and a write proven.
# Parameters: VOLUME_NAME, MOUNT_POINT, SERVER (the node this host mounts from: the seed's ring, 1 from 2, 2 from 3,
# 3 from 1), BACKUP_SERVERS (colon-separated: the other nodes, tried when SERVER is down; empty for a single node),
# NODE_NAME (this node).
need VOLUME_NAME MOUNT_POINT SERVER NODE_NAME
[[ $MOUNT_POINT =~ ^(/[A-Za-z0-9._-]+)+$ ]] || die "MOUNT_POINT '$MOUNT_POINT' must be an absolute path"
source_spec="$SERVER:/$VOLUME_NAME"

# findmnt exits 1 when nothing is mounted there; under pipefail that must not fail the step.
mounted_fstype() { { findmnt -rno FSTYPE --mountpoint "$MOUNT_POINT" 2>/dev/null || true; } | head -n1; }
# Something else mounted there (a local disk, tmpfs) is the operator's: refuse before touching fstab.
fstype=$(mounted_fstype)
[ -z "$fstype" ] || [ "$fstype" = fuse.glusterfs ] || die "$MOUNT_POINT is already a $fstype mount; unmount it first"

# _netdev and x-systemd.requires order the mount after the network and the local glusterd at boot (otherwise it can
# run first and fail); backup-volfile-servers lets the mount succeed while SERVER is down. mount.glusterfs ignores
# x-* options, so the same line works on hosts without systemd.
options="defaults,_netdev"
if [ -n "${BACKUP_SERVERS:-}" ]; then options+=",backup-volfile-servers=$BACKUP_SERVERS"; fi
options+=",x-systemd.requires=glusterd.service"
line="$source_spec $MOUNT_POINT glusterfs $options 0 0"
if fstab_set "$MOUNT_POINT" "$line"; then
  log "fstab: $line"
else
  log "fstab line for $MOUNT_POINT already present"
fi

mkdir -p "$MOUNT_POINT"
fstype=$(mounted_fstype)
if [ "$fstype" = fuse.glusterfs ]; then
  log "$MOUNT_POINT already mounted ($(findmnt -rno SOURCE --mountpoint "$MOUNT_POINT" | head -n1))"
else
  if [ -n "$(ls -A "$MOUNT_POINT")" ]; then log "note: $MOUNT_POINT is not empty; the volume mount hides its files"; fi
  # Mount through the fstab line, so a broken line fails here rather than at the next boot.
  try_mount() { [ "$(mounted_fstype)" = fuse.glusterfs ] || mount "$MOUNT_POINT"; }
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

# shellcheck shell=bash
# Runbook "restore from backup", on node 1 of a fresh cluster (every step of the plan done, the volume mounted and
# empty): the files of a brick snapshot are copied into the volume through its mount, so gluster writes them to all
# three bricks at once and gives them fresh gfids; nothing of the old volume's internals (.glusterfs, its volume id,
# the saved glusterd identity) comes along. Works whatever cluster the snapshot came from.
# Parameters: SNAPSHOT_DEVICE (block device of the volume made from the brick snapshot, attached to this node),
# BRICK_DIR (the brick directory's name inside that filesystem, e.g. gv for /glusterfs/bricks/brick1/gv),
# MOUNT_POINT (where the volume is mounted), RESTORE_MOUNT (where the snapshot is mounted, read-only; default
# /mnt/ha-wordpress-restore).
# Safe to run twice: a volume that already holds this snapshot's files (the marker) is left as it is; a volume
# holding anything else is refused, never overwritten.
need SNAPSHOT_DEVICE BRICK_DIR MOUNT_POINT
restore_mount=${RESTORE_MOUNT:-/mnt/ha-wordpress-restore}
[[ $BRICK_DIR =~ ^[A-Za-z0-9._-]+$ ]] || die "BRICK_DIR '$BRICK_DIR' must be a directory name"
[ -b "$SNAPSHOT_DEVICE" ] || die "$SNAPSHOT_DEVICE is not a block device (attach the volume made from the snapshot)"
[ "$(findmnt -rno FSTYPE --mountpoint "$MOUNT_POINT" 2>/dev/null | head -n1)" = fuse.glusterfs ] ||
  die "$MOUNT_POINT is not the mounted Gluster volume"
timeout 30 stat -t "$MOUNT_POINT/." >/dev/null || die "$MOUNT_POINT does not answer"
marker="$MOUNT_POINT/.ha-wordpress-restored"

# Read-only, and `nouuid`: the snapshot's XFS has the UUID of the brick it was taken from, which may be mounted on
# this very host (a restore into the same cluster).
fs_uuid=$(blkid -p -o value -s UUID "$SNAPSHOT_DEVICE" 2>/dev/null || true)
[ -n "$fs_uuid" ] || die "$SNAPSHOT_DEVICE holds no filesystem"
mkdir -p "$restore_mount"
if ! mountpoint -q "$restore_mount"; then
  opts=ro
  [ "$(blkid -p -o value -s TYPE "$SNAPSHOT_DEVICE")" != xfs ] || opts=ro,nouuid
  mount -o "$opts" "$SNAPSHOT_DEVICE" "$restore_mount" || die "cannot mount $SNAPSHOT_DEVICE read-only on $restore_mount"
fi
trap 'umount "$restore_mount" 2>/dev/null || true' EXIT
src="$restore_mount/$BRICK_DIR"
[ -d "$src" ] || die "$SNAPSHOT_DEVICE has no brick directory $BRICK_DIR"
want="snapshot filesystem $fs_uuid"

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
  log "$MOUNT_POINT already holds the files of $want"
  exit 0
fi
# A fresh volume holds nothing but the mount step's probe files (already removed) and, maybe, an earlier attempt
# of this restore cut short (the marker is written last, so it is missing): only then is copying safe.
others=$(find "$MOUNT_POINT" -mindepth 1 -maxdepth 1 ! -name '.ha-wordpress-restoring' | head -n 3)
if [ -n "$others" ] && ! [ -f "$MOUNT_POINT/.ha-wordpress-restoring" ]; then
  die "$MOUNT_POINT is not empty ($(tr '\n' ' ' <<<"$others")); restore into a fresh cluster's volume"
fi
printf '%s\n' "$want" >"$MOUNT_POINT/.ha-wordpress-restoring"

# Everything but gluster's own metadata (.glusterfs, .glusterfs-anonymous-inode-*); owners, modes, times, hard
# links, ACLs. Not -X: the brick's trusted.*
# attributes (gfids, AFR changelogs) belong to the old volume and a client may not set them anyway.
count=$(find "$src" -mindepth 1 -path "$src/.glusterfs*" -prune -o -print | wc -l)
log "copying $count entries from $want into $MOUNT_POINT"
rsync -aHA --numeric-ids --exclude='/.glusterfs*' --exclude=/.ha-wordpress-restoring --exclude=/.ha-wordpress-restored \
  "$src/" "$MOUNT_POINT/"

# Proof: the same files with the same contents on both sides.
manifest() { (cd "$1" && find . -path './.glusterfs*' -prune -o -path ./.ha-wordpress-restor\* -prune -o -type f -print0 |
  sort -z | xargs -0 -r sha256sum); }
if ! diff <(manifest "$src") <(manifest "$MOUNT_POINT") >/dev/null; then
  die "the restored files differ from the snapshot's (checksums)"
fi
printf '%s\n' "$want" >"$marker"
rm -f "$MOUNT_POINT/.ha-wordpress-restoring"
log "restored $(manifest "$MOUNT_POINT" | wc -l) files from $want into $MOUNT_POINT, checksums equal"

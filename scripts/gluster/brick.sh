# shellcheck shell=bash
# Host step "brick": the node's EBS volume formatted (only if blank), mounted by UUID, with the brick directory.
# Parameters: VOLUME_ID (EBS volume id, vol-...), BRICK_PATH (brick directory; its parent is the mount point, e.g.
# /glusterfs/bricks/brick1/gv on /glusterfs/bricks/brick1), DEVICE_NAME (optional: the attachment's device name, e.g.
# /dev/sdf, tried last; Xen instances show it as /dev/xvdf), DEVICE_TIMEOUT (optional: seconds to wait for the
# device to appear after the attachment, default 300).
# Never formats a device that carries a filesystem or a partition table, and never touches a device mounted elsewhere.
need VOLUME_ID BRICK_PATH
[[ $VOLUME_ID =~ ^vol-[0-9a-z]+$ ]] || die "VOLUME_ID '$VOLUME_ID' is not an EBS volume id"
[[ $BRICK_PATH =~ ^(/[A-Za-z0-9._-]+){2,}$ ]] || die "BRICK_PATH '$BRICK_PATH' must be an absolute path below a mount point"
mount_point=${BRICK_PATH%/*}
serial=${VOLUME_ID//-/}

# Nitro instances expose EBS as NVMe in no fixed order; the volume id (without its dash) is the NVMe serial.
find_device() {
  local link="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${serial}" name ser cand
  if [ -e "$link" ]; then readlink -f "$link"; return 0; fi
  while read -r name ser; do
    if [ "$ser" = "$serial" ]; then echo "$name"; return 0; fi
  done < <(lsblk -dnpo NAME,SERIAL 2>/dev/null)
  if [ -n "${DEVICE_NAME:-}" ]; then
    for cand in "$DEVICE_NAME" "/dev/xvd${DEVICE_NAME#/dev/sd}"; do
      if [ -b "$cand" ]; then readlink -f "$cand"; return 0; fi
    done
  fi
  return 1
}
wait_until "${DEVICE_TIMEOUT:-300}" "EBS volume $VOLUME_ID to appear as a block device" find_device
dev=$(find_device)
[ -b "$dev" ] || die "$dev (volume $VOLUME_ID) is not a block device"
log "volume $VOLUME_ID is $dev"

# Refuse anything that looks in use for something else.
elsewhere=$(findmnt -rno TARGET --source "$dev" 2>/dev/null | grep -vxF "$mount_point" || true)
[ -z "$elsewhere" ] || die "$dev is mounted at $elsewhere, not at $mount_point; refusing to touch it"
[ "$(lsblk -nro NAME "$dev" | wc -l)" -eq 1 ] || die "$dev has partitions; refusing to use it as a brick"

fstype=$(blkid -p -o value -s TYPE "$dev" 2>/dev/null || true)
if [ -z "$fstype" ]; then
  pttype=$(blkid -p -o value -s PTTYPE "$dev" 2>/dev/null || true)
  [ -z "$pttype" ] || die "$dev carries a $pttype partition table; refusing to format it"
  log "no filesystem on $dev: mkfs.xfs -i size=512"
  # No -f: mkfs.xfs itself refuses to overwrite a signature we failed to see.
  mkfs.xfs -q -i size=512 "$dev"
  fstype=xfs
elif [ "$fstype" != xfs ]; then
  die "$dev carries a $fstype filesystem, expected xfs; refusing to format it (move the data away or use another volume)"
else
  log "$dev already carries xfs; keeping it"
fi
uuid=$(blkid -p -o value -s UUID "$dev")
[ -n "$uuid" ] || die "no UUID on $dev after formatting"

# Something else mounted at the mount point is the operator's: refuse before touching fstab.
already_mounted=0
if mountpoint -q "$mount_point" 2>/dev/null; then
  current=$(readlink -f "$(findmnt -rno SOURCE --mountpoint "$mount_point" | head -n1)")
  [ "$current" = "$dev" ] || die "$mount_point is already a mount of $current, not of $dev"
  already_mounted=1
fi

# One fstab line for the brick mount point, by UUID (device names move between boots). nofail: the instance still
# boots without the volume; glusterd then refuses to start a brick whose directory is missing, which is safe.
line="UUID=$uuid $mount_point xfs defaults,noatime,nofail 0 0"
if fstab_set "$mount_point" "$line" "UUID=$uuid"; then
  log "fstab: $line"
else
  log "fstab line for $mount_point already present"
fi

mkdir -p "$mount_point"
if [ "$already_mounted" = 1 ]; then
  log "$mount_point already mounted"
else
  mount -t xfs "$dev" "$mount_point"
  log "mounted $dev on $mount_point"
fi
# The EBS volume may have grown (brickVolumeSize raised): grow XFS to fill it; a no-op when it already does.
xfs_growfs "$mount_point" >/dev/null

mkdir -p "$BRICK_PATH"
[ "$(findmnt -rno TARGET -T "$BRICK_PATH")" = "$mount_point" ] || die "$BRICK_PATH is not on the brick filesystem"

log "brick directory $BRICK_PATH ready on $dev ($(df -h --output=size "$mount_point" | tail -n1 | tr -d ' '))"

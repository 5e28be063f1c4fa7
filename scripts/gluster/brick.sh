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

mkdir -p "$BRICK_PATH"
[ "$(findmnt -rno TARGET -T "$BRICK_PATH")" = "$mount_point" ] || die "$BRICK_PATH is not on the brick filesystem"

# A replaced instance: the brick remembers the glusterd identity of the node it belonged to (saved by the peers step).
# The other nodes know this node by that UUID and refuse any other, so a fresh glusterd takes it back, with its view
# of the peers, before anything probes it. A glusterd that already has peers or volumes is never rewritten.
saved_state=$mount_point/.ha-wordpress/glusterd
if [ -f "$saved_state/glusterd.info" ]; then
  saved_uuid=$(sed -n 's/^UUID=//p' "$saved_state/glusterd.info")
  info=/var/lib/glusterd/glusterd.info
  current_uuid=$(sed -n 's/^UUID=//p' "$info" 2>/dev/null || true)
  if [ -n "$saved_uuid" ] && [ "$saved_uuid" != "$current_uuid" ]; then
    if [ -n "$(ls -A /var/lib/glusterd/peers 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/glusterd/vols 2>/dev/null)" ]; then
      die "brick on $dev belongs to glusterd $saved_uuid, but this host is glusterd $current_uuid and already has peers or volumes; refusing to mix identities"
    fi
    log "brick belongs to glusterd $saved_uuid (this host: ${current_uuid:-none}): taking that identity back (replaced instance)"
    glusterd_pid() { local p; p=$(cat /run/glusterd.pid 2>/dev/null) || return 1; [ "$(cat "/proc/$p/comm" 2>/dev/null)" = glusterd ] && echo "$p"; }
    if [ -d /run/systemd/system ]; then
      systemctl stop glusterd.service
    elif pid=$(glusterd_pid); then
      kill "$pid"
      wait_until 30 "glusterd pid $pid to exit" bash -c "! kill -0 $pid"
    fi
    if [ -f "$info" ]; then sed -i "s/^UUID=.*/UUID=$saved_uuid/" "$info"; else printf 'UUID=%s\n' "$saved_uuid" >"$info"; fi
    mkdir -p /var/lib/glusterd/peers
    cp -rp "$saved_state/peers/." /var/lib/glusterd/peers/
    if [ -d /run/systemd/system ]; then systemctl start glusterd.service; else glusterd -p /run/glusterd.pid; fi
    wait_until 60 "glusterd to answer after taking back its identity" gluster --mode=script pool list
    log "now glusterd $(sed -n 's/^UUID=//p' "$info") with $(find /var/lib/glusterd/peers -type f | wc -l) known peers"
  fi
fi
log "brick directory $BRICK_PATH ready on $dev ($(df -h --output=size "$mount_point" | tail -n1 | tr -d ' '))"

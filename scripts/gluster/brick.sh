# shellcheck shell=bash
# Host step "brick": the node's EBS volume formatted (only if blank), mounted by UUID, with the brick directory.
# Parameters: VOLUME_ID (EBS volume id, vol-...), BRICK_PATH (brick directory; its parent is the mount point, e.g.
# /glusterfs/bricks/brick1/gv on /glusterfs/bricks/brick1), DEVICE_NAME (optional: the attachment's device name, e.g.
# /dev/sdf, tried last; Xen instances show it as /dev/xvdf), DEVICE_TIMEOUT (optional: seconds to wait for the
# device to appear after the attachment, default 300).
# Never formats a device that carries a filesystem or a partition table, and never touches a device mounted elsewhere.
need VOLUME_ID BRICK_PATH
require_systemd
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

# Something else mounted at the mount point is the operator's: refuse before formatting or writing any unit.
if mountpoint -q "$mount_point" 2>/dev/null; then
  current=$(findmnt -rno SOURCE --mountpoint "$mount_point" | head -n1)
  case $current in /*) current=$(readlink -f "$current") ;; esac
  [ "$current" = "$dev" ] || die "$mount_point is already a mount of $current, not of $dev"
fi

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


# The brick is mounted by a native mount unit, by UUID (device names move between boots), not by an fstab line:
# systemd in a container ignores fstab lines for block devices, and the unit is what glusterd's own unit can
# depend on. An fstab line from an earlier version of this step is removed, so the two never disagree.
mount_unit=$(unit_name "$mount_point" mount)
changed=0
if fstab_set "$mount_point" "" "UUID=$uuid"; then log "fstab: removed the old line for $mount_point (a mount unit mounts it now)"; fi
write_if_changed "/etc/systemd/system/$mount_unit" "# Written by ha-wordpress (scripts/gluster/brick.sh): the brick filesystem of volume $VOLUME_ID.
[Unit]
Description=GlusterFS brick filesystem (EBS volume $VOLUME_ID)
# Not needed to boot: without its disk the node boots, and glusterd (bound to this mount) stays down.
DefaultDependencies=no
After=local-fs-pre.target
Before=umount.target
Conflicts=umount.target

[Mount]
What=UUID=$uuid
Where=$mount_point
Type=xfs
Options=defaults,noatime

[Install]
WantedBy=multi-user.target" 0644 && changed=1

# The disk may appear after boot (a late EBS attachment, a replaced volume): the keeper waits for the filesystem and
# then starts glusterd, which mounts the brick through its dependency; it never blocks the boot. Then it keeps the
# brick running: glusterd starts a node's brick only when it starts or regains server quorum, and after all three
# nodes boot at once that start sometimes loses a race (a port, the peers' handshake) and is never tried again. A
# brick of a started volume that stays down for 30 s while glusterd runs is started with `volume start force`,
# which starts only offline bricks; glusterd runs only with this brick filesystem mounted (its guard, below).
# A running brick is not always a serving one: a hung brick process (a stuck disk, a frozen process) is reported
# online by glusterd, which only checks that the process exists, and no client can reach it. Every 30 s the keeper
# asks the heal client (`heal info`, a client of every brick, no cluster lock) whether this brick answers; after two
# such checks in a row say it does not, the brick process is stopped (killed if it does not stop) and started again
# with `start force`.
keeper=/usr/local/lib/ha-wordpress/brick-keeper
# shellcheck disable=SC2016 # the keeper's own variables, expanded when it runs
write_if_changed "$keeper" '#!/bin/bash
# Written by ha-wordpress (scripts/gluster/brick.sh). Usage: brick-keeper FS_UUID BRICK_DIR
set -u
uuid=$1 brick=$2 down=0 deaf=0 tick=0
until blkid -U "$uuid" >/dev/null 2>&1; do sleep 2; done
echo "brick filesystem $uuid present: starting glusterd"
systemctl start glusterd.service
start_force() {
  timeout 120 gluster --mode=script volume start "$1" force || echo "volume start $1 force failed; trying again later"
}
while sleep 10; do
  tick=$((tick + 1))
  systemctl is-active --quiet glusterd.service || { down=0 deaf=0; continue; }
  vol=""
  for f in /var/lib/glusterd/vols/*/bricks/*; do
    [ -f "$f" ] && grep -qxF "path=$brick" "$f" || continue
    v=$(basename "$(dirname "$(dirname "$f")")")
    grep -qx "status=1" "/var/lib/glusterd/vols/$v/info" 2>/dev/null && vol=$v
  done
  [ -n "$vol" ] || { down=0 deaf=0; continue; }
  proc=$(pgrep -af -- "glusterfsd .*--brick-name $brick( |$)" | head -n1)
  if [ -z "$proc" ]; then
    deaf=0 down=$((down + 1))
    if [ "$down" -ge 3 ]; then
      echo "brick $brick of volume $vol has not run for 30 s: volume start $vol force"
      start_force "$vol"
      down=0
    fi
    continue
  fi
  down=0
  # The brick as the volume names it (host:path): its process was started with -s HOST.
  pid=${proc%% *} name=$(sed -n "s/.* -s \([^ ]*\) .*/\1/p" <<<"$proc")
  [ -n "$name" ] && [ $((tick % 3)) -eq 0 ] || continue
  # Only an explicit answer counts: a heal client that cannot run (self-heal off, glusterd busy) says nothing.
  # Each brick block lists the entries it has to heal between its "Brick" and "Status" lines.
  status=$(timeout 60 gluster --mode=script volume heal "$vol" info 2>/dev/null |
    awk -v b="$name:$brick" '\''$1 == "Brick" { mine = ($2 == b) } mine && sub(/^Status: /, "") { print; exit }'\'')
  if [ -n "$status" ] && [ "$status" != Connected ]; then deaf=$((deaf + 1)); else deaf=0; fi
  if [ "$deaf" -ge 2 ]; then
    echo "brick $name:$brick (pid $pid) runs but does not answer clients (\"$status\" twice): restarting it"
    kill "$pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null
    start_force "$vol"
    deaf=0
  fi
done' 0755 && changed=1
write_if_changed /etc/systemd/system/ha-wordpress-brick.service "# Written by ha-wordpress (scripts/gluster/brick.sh).
[Unit]
Description=Start glusterd once the brick filesystem (EBS volume $VOLUME_ID) is there, and keep the brick running
After=local-fs.target

[Service]
Type=simple
ExecStart=$keeper $uuid $BRICK_PATH
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target" 0644 && changed=1

if [ "$changed" = 1 ]; then systemctl daemon-reload; fi
systemctl enable --quiet "$mount_unit" ha-wordpress-brick.service
keeper_changed=$changed
mkdir -p "$mount_point"
if mountpoint -q "$mount_point"; then
  log "$mount_point already mounted"
else
  systemctl start "$mount_unit"
  log "mounted $dev on $mount_point ($mount_unit)"
fi
# The EBS volume may have grown (brickVolumeSize raised): grow XFS to fill it; a no-op when it already does.
xfs_growfs "$mount_point" >/dev/null

# Bound only once the mount is active: binding glusterd to an inactive mount would stop glusterd at once.
# glusterd runs only while this node's brick filesystem is mounted, and its guard checks at every start that the
# brick directory lies on that filesystem and carries the volume's id: a late or missing disk must leave the node
# without a brick (the other two serve), never serving an empty directory on the root disk that heal would fill.
guard=/usr/local/lib/ha-wordpress/brick-guard
# shellcheck disable=SC2016 # the guard's own variables, expanded when it runs
write_if_changed "$guard" '#!/bin/bash
# Written by ha-wordpress (scripts/gluster/brick.sh): ExecStartPre of glusterd. Usage: brick-guard MOUNT BRICK_DIR
set -u
mp=$1 brick=$2
mountpoint -q "$mp" || { echo "brick filesystem $mp is not mounted: glusterd stays down" >&2; exit 1; }
[ -d "$brick" ] || exit 0   # before the brick step made it: no volume uses it yet
[ "$(findmnt -rno TARGET -T "$brick")" = "$mp" ] || { echo "$brick is not on the brick filesystem $mp" >&2; exit 1; }
have=$(getfattr --absolute-names -n trusted.glusterfs.volume-id -e hex "$brick" 2>/dev/null | sed -n "s/^trusted.glusterfs.volume-id=0x//p")
[ -n "$have" ] || exit 0    # a brick directory no volume has claimed yet
# A glusterd that knows no volume serves no brick: a replaced instance, before it rejoins its peers, must start
# (its identity step restarts it) to learn the volume this brick belongs to; then the check below applies.
[ -n "$(ls -A /var/lib/glusterd/vols 2>/dev/null)" ] || exit 0
for info in /var/lib/glusterd/vols/*/info; do
  [ -f "$info" ] || continue
  id=$(sed -n "s/^volume-id=//p" "$info" | tr -d -)
  [ "$id" = "$have" ] && exit 0
done
echo "$brick carries volume id $have, which no volume of this glusterd has: refusing to serve it" >&2
exit 1' 0755 && bound=1
write_if_changed /etc/systemd/system/glusterd.service.d/ha-wordpress-brick.conf "# Written by ha-wordpress (scripts/gluster/brick.sh).
[Unit]
BindsTo=$mount_unit
After=$mount_unit

[Service]
ExecStartPre=$guard $mount_point $BRICK_PATH" 0644 && bound=1

if [ "${bound:-0}" = 1 ]; then systemctl daemon-reload; fi
if [ "$keeper_changed" = 1 ] && systemctl is-active --quiet ha-wordpress-brick.service; then
  systemctl restart ha-wordpress-brick.service
else
  systemctl start ha-wordpress-brick.service
fi

mkdir -p "$BRICK_PATH"
[ "$(findmnt -rno TARGET -T "$BRICK_PATH")" = "$mount_point" ] || die "$BRICK_PATH is not on the brick filesystem"

log "brick directory $BRICK_PATH ready on $dev ($(df -h --output=size "$mount_point" | tail -n1 | tr -d ' '))"

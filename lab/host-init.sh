#!/usr/bin/env bash
# Becomes one lab host. lab/hosts.ts starts it as `unshare --net --mount --uts --propagation private bash
# host-init.sh`: it builds the host's private root in the new mount namespace, then execs `chroot ROOT sleep
# infinity`. That process (same pid as unshare) holds the host's namespaces; everything else enters them with
# nsenter. Nothing here touches the machine's own mounts: propagation is private, and every write below goes
# into the overlay root, which this script checks is mounted before it writes.
#
# Environment (set by lab/hosts.ts):
#   LAB_HOST     host name, e.g. node-gfs1
#   LAB_DIR      the host's state directory under /tmp/ha-lab/hosts/
#   LAB_LOOP     loop device standing in for the host's EBS volume (e.g. /dev/loop3), or empty
#   LAB_DISK_ID  Nitro-style by-id name for that device, e.g. nvme-Amazon_Elastic_Block_Store_vol0lab000000000001
#   LAB_PUBKEY   the lab's SSH public key file (root may log in with it)
#   LAB_HOSTKEY  this host's private SSH host key file (its .pub beside it)
set -euo pipefail
: "${LAB_HOST:?}" "${LAB_DIR:?}" "${LAB_PUBKEY:?}" "${LAB_HOSTKEY:?}"
LAB_LOOP=${LAB_LOOP:-}
LAB_DISK_ID=${LAB_DISK_ID:-}
root=$LAB_DIR/root
ovl=$LAB_DIR/ovl

hostname "$LAB_HOST"

# Root: the machine's / as the read-only lower layer, a tmpfs as the upper, so every host starts as a copy of this
# machine and its changes stay its own. The tmpfs is mounted only in this namespace.
mkdir -p "$ovl" "$root" "$LAB_DIR/log/glusterfs"
mount -t tmpfs -o mode=755,size=2g "halab-$LAB_HOST" "$ovl"
mkdir "$ovl/upper" "$ovl/work"
mount -t overlay "halab-root-$LAB_HOST" -o "lowerdir=/,upperdir=$ovl/upper,workdir=$ovl/work" "$root"
mountpoint -q "$root" || { echo "host-init: overlay root not mounted at $root" >&2; exit 1; }

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mkdir -p "$root/run/sshd" "$root/run/gluster" "$root/run/lock"

# A private /dev: the machine's /dev has no disk/ directory and must stay untouched, so each host gets a tmpfs with
# only the nodes it needs (bind-mounted from the real ones) and its own disk under the name an EC2 Nitro
# instance would show for its EBS volume.
dev=$root/dev
mount -t tmpfs -o mode=755,nosuid,size=1m "halab-dev-$LAB_HOST" "$dev"
bind_dev() {
  [ -e "/dev/$1" ] || return 0
  touch "$dev/$1"
  mount --bind "/dev/$1" "$dev/$1"
}
for node in null zero full random urandom tty fuse loop-control; do bind_dev "$node"; done
if [ -n "$LAB_LOOP" ]; then
  loop_name=${LAB_LOOP#/dev/}
  bind_dev "$loop_name"
  mkdir -p "$dev/disk/by-id"
  ln -s "../../$loop_name" "$dev/disk/by-id/$LAB_DISK_ID"
fi
mkdir "$dev/pts" "$dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$dev/pts"
ln -s pts/ptmx "$dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$dev/shm"
ln -s /proc/self/fd "$dev/fd"
ln -s /proc/self/fd/0 "$dev/stdin"
ln -s /proc/self/fd/1 "$dev/stdout"
ln -s /proc/self/fd/2 "$dev/stderr"

# Logs outlive the host: they are bind-mounted from its state directory.
mkdir -p "$root/var/log/glusterfs" "$root/var/log/ha-lab"
mount --bind "$LAB_DIR/log/glusterfs" "$root/var/log/glusterfs"
mount --bind "$LAB_DIR/log" "$root/var/log/ha-lab"

# A fresh machine: its own name, no fstab entries, no Gluster identity or peers inherited from this machine, and
# SSH keys of its own instead of this machine's.
echo "$LAB_HOST" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
printf '# /etc/fstab of lab host %s\n' "$LAB_HOST" > "$root/etc/fstab"
rm -rf "$root/var/lib/glusterd/glusterd.info" "$root/var/lib/glusterd/peers" "$root/var/lib/glusterd/vols"
rm -rf "$root/root/.ssh"
mkdir -m 700 "$root/root/.ssh"
install -m 600 "$LAB_PUBKEY" "$root/root/.ssh/authorized_keys"
# Root's shell start-up files as a fresh Debian install has them. This machine's may start tools (version managers)
# that are slow or take locks, and bash reads ~/.bashrc even for `bash -c` when run by sshd.
for f in bashrc profile; do
  if [ -f "/usr/share/base-files/dot.$f" ]; then install -m 644 "/usr/share/base-files/dot.$f" "$root/root/.$f"; fi
done
rm -f "$root"/etc/ssh/ssh_host_*
install -m 600 "$LAB_HOSTKEY" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 644 "$LAB_HOSTKEY.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"

exec chroot "$root" sleep infinity

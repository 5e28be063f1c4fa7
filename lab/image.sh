#!/usr/bin/env bash
# Builds the lab's Debian 12 image once: what every booted lab host starts from (a fresh EC2 instance, in AWS terms,
# with the packages the host steps would install already there, since lab hosts have no route to a mirror).
# lab/image.ts calls it; it never runs on a host.
#
# Usage: image.sh DEST PACKAGES...
#   DEST      the finished image directory; built beside it as DEST.build and renamed when complete, so a crash
#             or Ctrl-C never leaves a half image that looks finished
#   PACKAGES  Debian packages to install on top of debootstrap's minbase
# Environment: MIRROR (default: this machine's own Debian mirror from its apt sources).
set -euo pipefail
dest=$1
shift
[ "$#" -gt 0 ] || { echo "image.sh: no packages given" >&2; exit 2; }
# One build at a time per image (two labs or a lab and a test may ask at once); the second finds it done.
mkdir -p "$(dirname "$dest")"
exec 9>"$dest.lock"
flock 9
[ -f "$dest/etc/ha-lab-image" ] && { echo "image: $dest already built"; exit 0; }
mirror=${MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
if [ -z "$mirror" ]; then mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true); fi
[ -n "$mirror" ] || { echo "image.sh: no Debian mirror found in /etc/apt (set MIRROR)" >&2; exit 1; }
for tool in debootstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || { echo "image.sh: $tool missing (apt-get install debootstrap systemd-container)" >&2; exit 1; }
done

build=$dest.build
rm -rf "$build"
mkdir -p "$build"
# nspawn without a host systemd puts its helper cgroups below the caller's: give the build a cgroup of its own and
# remove it afterwards, so nothing is left in the machine's cgroup tree.
cg=halab-image-$$
cleanup() {
  for h in systemd unified; do
    [ -d "/sys/fs/cgroup/$h/$cg" ] && find "/sys/fs/cgroup/$h/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "/run/systemd/nspawn/propagate/$(basename "$build")"
  true
}
trap cleanup EXIT
for h in systemd unified; do
  mkdir -p "/sys/fs/cgroup/$h/$cg"
  echo $$ >"/sys/fs/cgroup/$h/$cg/cgroup.procs"
done

start=$(date +%s)
echo "image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,iproute2,iputils-ping,openssh-server,procps,psmisc,ca-certificates,less \
  bookworm "$build" "$mirror" >"$build.log" 2>&1 || { tail -n 30 "$build.log" >&2; exit 1; }
echo "image: debootstrap done in $(($(date +%s) - start))s; installing ${#@} packages"

# No package may start its daemon while the image is built: services start when a host boots, as the steps say.
printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
chmod 755 "$build/usr/sbin/policy-rc.d"
# shellcheck disable=SC2016 # expanded inside the image, not here
systemd-nspawn -q -D "$build" --register=no --keep-unit --pipe -E DEBIAN_FRONTEND=noninteractive \
  -E PACKAGES="$*" bash -euo pipefail -c '
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $PACKAGES
    apt-get clean
    rm -rf /var/lib/apt/lists/*' >>"$build.log" 2>&1 || { tail -n 30 "$build.log" >&2; exit 1; }
rm -f "$build/usr/sbin/policy-rc.d"

# A fresh instance: no daemon of the stack enabled until a host step enables it (Debian enables most of them on
# install; glusterd it leaves disabled, as on EC2). sshd and networkd are the instance's own.
chroot "$build" systemctl disable --quiet nginx varnish varnishncsa php8.2-fpm mariadb mariadb.socket fail2ban 2>/dev/null || true
chroot "$build" systemctl enable --quiet systemd-networkd ssh
# Timers that would start apt or cron work at random in a test.
chroot "$build" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer 2>/dev/null || true
# Every host generates its own machine id at first boot and gets its own SSH host key from the lab.
: >"$build/etc/machine-id"
rm -f "$build"/etc/ssh/ssh_host_*
passwd -R "$build" -l root >/dev/null
# A persistent journal: what a host logged before a reboot or a power cut is still there to read afterwards.
mkdir -p "$build/var/log/journal"
echo "ha-lab image, built $(date -u +%FT%TZ) with: $*" >"$build/etc/ha-lab-image"
mv "$build.log" "$build/var/log/ha-lab-image.log"
rm -rf "$dest"
mv "$build" "$dest"
rm -f "$dest.lock"
echo "image: ready at $dest in $(($(date +%s) - start))s ($(du -sm "$dest" | cut -f1) MB)"

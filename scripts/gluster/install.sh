# shellcheck shell=bash
# Host step "install": GlusterFS server installed, brick ports pinned, glusterd enabled and running.
# Parameters: BRICK_PORT_MIN, BRICK_PORT_MAX (the brick port range the security group opens).
need BRICK_PORT_MIN BRICK_PORT_MAX
require_systemd
[[ $BRICK_PORT_MIN =~ ^[0-9]+$ && $BRICK_PORT_MAX =~ ^[0-9]+$ ]] || die "brick ports must be numbers"
((BRICK_PORT_MIN >= 1024 && BRICK_PORT_MIN <= BRICK_PORT_MAX && BRICK_PORT_MAX <= 65535)) ||
  die "bad brick port range ${BRICK_PORT_MIN}-${BRICK_PORT_MAX}"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=()
# attr: getfattr, for the brick guard (brick step) that reads the brick directory's volume id.
for pkg in glusterfs-server glusterfs-client xfsprogs attr; do installed "$pkg" || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  # On first boot cloud-init may still hold the dpkg lock (or be about to); let it finish.
  if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -q -o DPkg::Lock::Timeout=600 update
  apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends "${missing[@]}"
else
  log "glusterfs-server, glusterfs-client, xfsprogs and attr already installed"
fi

# GlusterFS 10 picks each brick's port at random between base-port and max-port (default 60999). Pin the range to
# the ports the security group opens, or bricks become unreachable across nodes.
vol=/etc/glusterfs/glusterd.vol
[ -f "$vol" ] || die "$vol not found after installing glusterfs-server"
tmp=$(mktemp)
MIN=$BRICK_PORT_MIN MAX=$BRICK_PORT_MAX awk '
  $1 == "option" && ($2 == "base-port" || $2 == "max-port") { next }
  $1 == "end-volume" && !done {
    print "    option base-port " ENVIRON["MIN"]
    print "    option max-port " ENVIRON["MAX"]
    done = 1
  }
  { print }' "$vol" >"$tmp"
ports_changed=0
if ! cmp -s "$tmp" "$vol"; then
  cat "$tmp" >"$vol"
  ports_changed=1
  log "brick ports pinned to ${BRICK_PORT_MIN}-${BRICK_PORT_MAX} in $vol"
fi
rm -f "$tmp"

# The brick ports lie inside Linux's ephemeral port range (32768-60999): any outgoing connection (a client, curl) may
# take one as its local port, and its TIME_WAIT outlives it, so after a reboot glusterd finds every port of the
# small pinned range "in use" and never starts the brick ("All the ports in the range are exhausted"). Reserved,
# they are never handed out as ephemeral ports; listening on them still works.
sysctl_file=/etc/sysctl.d/60-ha-wordpress-gluster.conf
if write_if_changed "$sysctl_file" "# Written by ha-wordpress (scripts/gluster/install.sh): the brick ports are never ephemeral ports.
net.ipv4.ip_local_reserved_ports = ${BRICK_PORT_MIN}-${BRICK_PORT_MAX}" 0644; then
  log "brick ports ${BRICK_PORT_MIN}-${BRICK_PORT_MAX} reserved from the ephemeral range ($sysctl_file)"
fi
sysctl -q -p "$sysctl_file"

# Debian's unit kills glusterd's whole control group on stop or restart: the bricks and the self-heal daemon with it,
# so a package upgrade (its postinst runs `try-restart glusterd`) takes this node's brick offline. Only glusterd
# itself restarts; the running bricks stay, and the new glusterd adopts them (what upstream's own unit does).
unit_changed=0
if write_if_changed /etc/systemd/system/glusterd.service.d/ha-wordpress-restart.conf "[Service]
KillMode=process" 0644; then
  systemctl daemon-reload
  unit_changed=1
fi
systemctl enable --quiet glusterd.service
if [ "$ports_changed" = 1 ]; then
  systemctl restart glusterd.service
  log "glusterd restarted to apply the port range"
elif ! systemctl is-active --quiet glusterd.service; then
  systemctl start glusterd.service
  log "glusterd started"
elif [ "$unit_changed" = 1 ]; then
  log "glusterd unit drop-in written (takes effect at its next start)"
fi
wait_until 60 "glusterd to answer on this host" gluster --mode=script pool list
log "glusterd running: $(gluster --version | head -n1)"

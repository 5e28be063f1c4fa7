# shellcheck shell=bash
# Host step "install": GlusterFS server installed, brick ports pinned, glusterd enabled and running.
# Parameters: BRICK_PORT_MIN, BRICK_PORT_MAX (the brick port range the security group opens).
# Works with and without systemd: hosts without it (containers, the lab) get glusterd started with a pid file.
need BRICK_PORT_MIN BRICK_PORT_MAX
[[ $BRICK_PORT_MIN =~ ^[0-9]+$ && $BRICK_PORT_MAX =~ ^[0-9]+$ ]] || die "brick ports must be numbers"
((BRICK_PORT_MIN >= 1024 && BRICK_PORT_MIN <= BRICK_PORT_MAX && BRICK_PORT_MAX <= 65535)) ||
  die "bad brick port range ${BRICK_PORT_MIN}-${BRICK_PORT_MAX}"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=()
for pkg in glusterfs-server glusterfs-client xfsprogs; do installed "$pkg" || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  # On first boot cloud-init may still hold the dpkg lock (or be about to); let it finish.
  if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -q -o DPkg::Lock::Timeout=600 update
  apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends "${missing[@]}"
else
  log "glusterfs-server, glusterfs-client and xfsprogs already installed"
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

pidfile=/run/glusterd.pid
# Only trust the pid file if it names a live glusterd: without a pid namespace other hosts' daemons share the pid space.
own_glusterd() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = glusterd ]
}

if [ -d /run/systemd/system ]; then
  systemctl enable glusterd.service >/dev/null 2>&1
  if [ "$ports_changed" = 1 ]; then systemctl restart glusterd.service; else systemctl start glusterd.service; fi
else
  if own_glusterd && [ "$ports_changed" = 1 ]; then
    pid=$(cat "$pidfile")
    log "restarting glusterd (pid $pid) to apply the port range"
    kill "$pid"
    wait_until 30 "glusterd pid $pid to exit" bash -c "! kill -0 $pid"
  fi
  if ! own_glusterd; then
    mkdir -p /run/gluster
    glusterd -p "$pidfile"
    log "glusterd started without systemd (pid file $pidfile)"
  fi
fi
wait_until 60 "glusterd to answer on this host" gluster --mode=script pool list
log "glusterd running: $(gluster --version | head -n1)"

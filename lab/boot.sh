#!/usr/bin/env bash
# The power switch of one lab host: boots it with systemd-nspawn (systemd as PID 1), and boots it again whenever it
# asks to reboot (nspawn's exit code 133, what systemd-nspawn@.service restarts on). Any other exit is a power-off,
# and this loop ends with it. lab/hosts.ts starts it detached (setsid) and records its pid.
#
# Environment (set by lab/hosts.ts):
#   LAB_HOST     machine name (also its hostname)
#   LAB_ROOT     the mounted overlay root to boot
#   LAB_NETNS    named network namespace (/run/netns/NAME) the host boots into; made afresh at every boot
#   LAB_CONTROL  pid of the lab's control namespace holder, where the bridges are
#   LAB_NICS     the host's interfaces, space-separated VETH:IFNAME:BRIDGE (the veth's bridge side, its name
#                inside, the bridge it joins)
#   LAB_FORWARD  "1": the host routes between its interfaces (the load balancer)
#   LAB_CGROUP   cgroup path (relative) under the name=systemd and unified hierarchies, the host's own
#   LAB_BINDS    file with the device paths to bind into the host (/dev/loopN for its disk), one per line; read at
#                every boot, so a disk plugged in while the host runs is there after its next reboot
#   LAB_LOG      file that gets one line per boot and exit, for `status` and failed tests
set -uo pipefail
: "${LAB_HOST:?}" "${LAB_ROOT:?}" "${LAB_NETNS:?}" "${LAB_CONTROL:?}" "${LAB_NICS:?}" "${LAB_CGROUP:?}" "${LAB_LOG:?}"

# No host systemd: nspawn runs in the caller's cgroup and makes its payload/supervisor groups below it. Each host
# gets a group of its own, so one host's units never land in another's.
for h in systemd unified; do
  mkdir -p "/sys/fs/cgroup/$h/$LAB_CGROUP"
  echo $$ >"/sys/fs/cgroup/$h/$LAB_CGROUP/cgroup.procs"
done

# A boot starts with the kernel's network state of a fresh machine, as a real reboot does: no firewall rules, no
# conntrack entries, no sockets in TIME_WAIT (glusterd tests its brick ports by binding them). So the namespace and
# the host's veths are made anew, before every boot.
fresh_network() {
  local nic veth ifname bridge
  ip netns del "$LAB_NETNS" 2>/dev/null || true
  ip netns add "$LAB_NETNS" || return 1
  for nic in $LAB_NICS; do
    IFS=: read -r veth ifname bridge <<<"$nic"
    nsenter -t "$LAB_CONTROL" -n ip link del "$veth" 2>/dev/null || true
    nsenter -t "$LAB_CONTROL" -n ip link add "$veth" type veth peer name "$ifname" netns "$LAB_NETNS" || return 1
    nsenter -t "$LAB_CONTROL" -n ip link set "$veth" master "$bridge" up || return 1
  done
  if [ "${LAB_FORWARD:-}" = 1 ]; then ip netns exec "$LAB_NETNS" sysctl -q -w net.ipv4.ip_forward=1; fi
}

while :; do
  fresh_network || { echo "exit network $(date +%s.%N)" >>"$LAB_LOG"; break; }
  binds=()
  while read -r dev; do [ -n "$dev" ] && binds+=("--bind=$dev"); done < <(cat "${LAB_BINDS:-/dev/null}" 2>/dev/null)
  # Groups an earlier boot (or a power cut) left behind; nspawn wants to create them afresh.
  for h in systemd unified; do
    find "/sys/fs/cgroup/$h/$LAB_CGROUP" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  echo "boot $(date +%s.%N)" >>"$LAB_LOG"
  # CAP_NET_ADMIN: networkd and nftables (not implied by a network namespace path); CAP_IPC_LOCK: glusterfs mlock.
  # --resolv-conf=off: the host keeps the resolver it was given (lab/hosts.ts); nspawn's default copies this
  # machine's at every boot, unreachable from the lab (each outside name then waits 5 s, wp-admin 10 s).
  # The host's own network sysctls (/proc/sys/net) are writable, as on a VM; the rest of /proc/sys stays read-only.
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn -q -D "$LAB_ROOT" -M "$LAB_HOST" --boot --register=no --keep-unit --console=passive \
    --resolv-conf=off --network-namespace-path="/run/netns/$LAB_NETNS" --capability=CAP_NET_ADMIN,CAP_IPC_LOCK \
    --private-users=no --bind=/dev/fuse "${binds[@]}" </dev/null
  rc=$?
  echo "exit $rc $(date +%s.%N)" >>"$LAB_LOG"
  [ "$rc" = 133 ] || break
done

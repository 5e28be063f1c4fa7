#!/usr/bin/env bash
# The power switch of one lab host: boots it with systemd-nspawn (systemd as PID 1), and boots it again whenever it
# asks to reboot (nspawn's exit code 133, what systemd-nspawn@.service restarts on). Any other exit is a power-off,
# and this loop ends with it. lab/hosts.ts starts it detached (setsid) and records its pid.
#
# Environment (set by lab/hosts.ts):
#   LAB_HOST     machine name (also its hostname)
#   LAB_ROOT     the mounted overlay root to boot
#   LAB_NETNS    named network namespace (/run/netns/NAME) the host boots into
#   LAB_CGROUP   cgroup path (relative) under the name=systemd and unified hierarchies, the host's own
#   LAB_BINDS    file with the device paths to bind into the host (/dev/loopN for its disk), one per line; read at
#                every boot, so a disk plugged in while the host runs is there after its next reboot
#   LAB_LOG      file that gets one line per boot and exit, for `status` and failed tests
set -uo pipefail
: "${LAB_HOST:?}" "${LAB_ROOT:?}" "${LAB_NETNS:?}" "${LAB_CGROUP:?}" "${LAB_LOG:?}"

# No host systemd: nspawn runs in the caller's cgroup and makes its payload/supervisor groups below it. Each host
# gets a group of its own, so one host's units never land in another's.
for h in systemd unified; do
  mkdir -p "/sys/fs/cgroup/$h/$LAB_CGROUP"
  echo $$ >"/sys/fs/cgroup/$h/$LAB_CGROUP/cgroup.procs"
done

while :; do
  binds=()
  while read -r dev; do [ -n "$dev" ] && binds+=("--bind=$dev"); done < <(cat "${LAB_BINDS:-/dev/null}" 2>/dev/null)
  # A boot starts from an empty firewall, as a real reboot does: the namespace outlives the host, its nftables
  # ruleset must not (jailwatch has to restore bans from its state, as on EC2).
  ip netns exec "$LAB_NETNS" nft flush ruleset 2>/dev/null || true
  # Groups an earlier boot (or a power cut) left behind; nspawn wants to create them afresh.
  for h in systemd unified; do
    find "/sys/fs/cgroup/$h/$LAB_CGROUP" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  echo "boot $(date +%s.%N)" >>"$LAB_LOG"
  # CAP_NET_ADMIN: networkd and nftables (not implied by a network namespace path); CAP_IPC_LOCK: glusterfs mlock.
  # The host's own network sysctls (/proc/sys/net) are writable, as on a VM; the rest of /proc/sys stays read-only.
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn -q -D "$LAB_ROOT" -M "$LAB_HOST" --boot --register=no --keep-unit --console=passive \
    --network-namespace-path="/run/netns/$LAB_NETNS" --capability=CAP_NET_ADMIN,CAP_IPC_LOCK \
    --private-users=no --bind=/dev/fuse "${binds[@]}" </dev/null
  rc=$?
  echo "exit $rc $(date +%s.%N)" >>"$LAB_LOG"
  [ "$rc" = 133 ] || break
done

# shellcheck shell=bash
# Host step: PHP-FPM pools for WordPress, the site's on 127.0.0.1:9000 and xmlrpc.php's on 127.0.0.1:9001 (Debian's
# `www` is disabled), PHP's opcache and realpath settings, started (systemd or, without it, directly) and reloaded only when a file changed.
# Params: POOL_CONF (content of scripts/web/php-fpm-pool.conf, with @@...@@ placeholders for the pool size),
#   PHP_VERSION (e.g. 8.2), PHP_INI (optional: scripts/web/php-tuning.ini), FPM_RESERVE_MIB (memory left to
#   everything but PHP), FPM_CHILD_MIB (memory one WordPress worker is budgeted).
need POOL_CONF PHP_VERSION
reserve_mib=${FPM_RESERVE_MIB:-768}
child_mib=${FPM_CHILD_MIB:-64}
[[ $reserve_mib =~ ^[0-9]+$ && $child_mib =~ ^[1-9][0-9]*$ ]] || die "FPM_RESERVE_MIB and FPM_CHILD_MIB must be whole numbers of MiB"

fpm="php-fpm${PHP_VERSION}"
unit="php${PHP_VERSION}-fpm"
pool="/etc/php/${PHP_VERSION}/fpm/pool.d/ha-wordpress.conf"
pidfile="/run/php/php${PHP_VERSION}-fpm.pid"
command -v "$fpm" >/dev/null || die "$fpm not installed (packages step)"

# Pool size from what this instance has, so one plan fits every instance type and a new type gets a new size:
#   memory = MemTotal, or the host's cgroup limit when lower (a container);
#   max_children = (memory - FPM_RESERVE_MIB) / FPM_CHILD_MIB, at most 8 per CPU (PHP that waits on the database or
#   the volume needs more workers than cores, past that they only queue for the CPU), clamped to 4..64;
#   start_servers = max_children/4, min_spare = max_children/8, max_spare = max_children/2 (each at least 2).
# The reserve covers the OS, glusterd with its brick and FUSE client, Varnish's cache, Nginx and jailwatch; the child
# budget is a WordPress worker's typical resident size (memory_limit, 256M, is one request's ceiling, not the mean).
mem_kib=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
cg_max=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || echo max)
if [[ $cg_max =~ ^[0-9]+$ ]] && [ $((cg_max / 1024)) -lt "$mem_kib" ]; then mem_kib=$((cg_max / 1024)); fi
cpus=$(nproc)
children=$(((mem_kib / 1024 - reserve_mib) / child_mib))
[ "$children" -le $((8 * cpus)) ] || children=$((8 * cpus))
[ "$children" -ge 4 ] || children=4
[ "$children" -le 64 ] || children=64
at_least_2() { if [ "$1" -lt 2 ]; then echo 2; else echo "$1"; fi; }
start=$(at_least_2 $((children / 4)))
min_spare=$(at_least_2 $((children / 8)))
max_spare=$(at_least_2 $((children / 2)))
conf=${POOL_CONF//@@MAX_CHILDREN@@/$children}
conf=${conf//@@START_SERVERS@@/$start}
conf=${conf//@@MIN_SPARE@@/$min_spare}
conf=${conf//@@MAX_SPARE@@/$max_spare}
log "pool size: max_children=$children (memory $((mem_kib / 1024)) MiB, $cpus CPUs), start=$start spare=$min_spare..$max_spare"

changed=no
if write_if_changed "$pool" "$conf" 0644; then changed=yes; log "pool file written: $pool"; fi
if [ -n "${PHP_INI:-}" ] && write_if_changed "/etc/php/${PHP_VERSION}/fpm/conf.d/90-ha-wordpress.ini" "$PHP_INI" 0644; then
  changed=yes
  log "PHP settings written"
fi
# Debian's default pool `www` (a socket nobody uses, its own workers) is renamed, so ours is the only one. FPM reads
# only pool.d/*.conf; dpkg treats the renamed conffile as removed by the admin and does not bring it back on upgrade.
www="/etc/php/${PHP_VERSION}/fpm/pool.d/www.conf"
if [ -f "$www" ]; then
  mv "$www" "$www.disabled-by-ha-wordpress"
  changed=yes
  log "Debian's default pool www disabled"
fi
"$fpm" -t >/dev/null 2>&1 || { "$fpm" -t || true; die "php-fpm configuration test failed"; }

if [ -d /run/systemd/system ]; then
  systemctl enable --quiet "$unit"
  if ! systemctl is-active --quiet "$unit"; then systemctl start "$unit"
  elif [ "$changed" = yes ]; then systemctl reload "$unit"; fi
else
  # No systemd (containers, the lab): php-fpm daemonizes itself and writes its pid file.
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    if [ "$changed" = yes ]; then kill -USR2 "$(cat "$pidfile")"; log "reloaded"; fi
  else
    mkdir -p /run/php
    "$fpm" --pid "$pidfile"
    log "started"
  fi
fi

wait_until 30 "php-fpm listening on 127.0.0.1:9000" port_open 9000
wait_until 30 "php-fpm's xmlrpc pool listening on 127.0.0.1:9001" port_open 9001
log "php-fpm ready on 127.0.0.1:9000 and :9001 (pool changed: $changed)"

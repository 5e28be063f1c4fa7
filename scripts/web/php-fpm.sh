# shellcheck shell=bash
# Host step: PHP-FPM pool for WordPress on 127.0.0.1:9000, started (systemd or, without it, directly) and reloaded
# only when the pool file changed.
# Params: POOL_CONF (content of scripts/web/php-fpm-pool.conf), PHP_VERSION (e.g. 8.2).
need POOL_CONF PHP_VERSION

fpm="php-fpm${PHP_VERSION}"
unit="php${PHP_VERSION}-fpm"
pool="/etc/php/${PHP_VERSION}/fpm/pool.d/ha-wordpress.conf"
pidfile="/run/php/php${PHP_VERSION}-fpm.pid"
command -v "$fpm" >/dev/null || die "$fpm not installed (packages step)"

changed=no
if write_if_changed "$pool" "$POOL_CONF" 0644; then changed=yes; log "pool file written: $pool"; fi
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
log "php-fpm ready on 127.0.0.1:9000 (pool changed: $changed)"

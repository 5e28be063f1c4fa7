# shellcheck shell=bash
# Host step: Nginx site on 127.0.0.1:8080 serving WordPress from the shared volume, plus the /healthz script.
# Removes Debian's default site (it listens on :80, which Varnish needs). Reloads only when a file changed.
# Params: SITE_CONF (scripts/web/nginx-site.conf, with @@WEB_ROOT@@), WEB_ROOT, HEALTHZ_PHP (scripts/web/healthz.php).
need SITE_CONF WEB_ROOT HEALTHZ_PHP
command -v nginx >/dev/null || die "nginx not installed (packages step)"
case "$WEB_ROOT" in /*) ;; *) die "WEB_ROOT must be an absolute path, got '$WEB_ROOT'" ;; esac

site="${SITE_CONF//@@WEB_ROOT@@/$WEB_ROOT}"
changed=no
write_if_changed /etc/nginx/sites-available/ha-wordpress "$site" 0644 && changed=yes
write_if_changed /usr/local/lib/ha-wordpress/healthz.php "$HEALTHZ_PHP" 0644 && changed=yes
if [ "$(readlink /etc/nginx/sites-enabled/ha-wordpress 2>/dev/null || true)" != /etc/nginx/sites-available/ha-wordpress ]; then
  ln -sfn /etc/nginx/sites-available/ha-wordpress /etc/nginx/sites-enabled/ha-wordpress
  changed=yes
fi
# Only the enabling symlink goes; Debian's file stays in sites-available.
if [ -L /etc/nginx/sites-enabled/default ]; then rm -f /etc/nginx/sites-enabled/default; changed=yes; fi

nginx -t -q 2>/dev/null || { nginx -t || true; die "nginx configuration test failed"; }

if [ -d /run/systemd/system ]; then
  systemctl enable --quiet nginx
  if ! systemctl is-active --quiet nginx; then systemctl start nginx
  elif [ "$changed" = yes ]; then systemctl reload nginx; fi
else
  if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    if [ "$changed" = yes ]; then nginx -s reload; log "reloaded"; fi
  else
    mkdir -p /var/log/nginx
    nginx
    log "started"
  fi
fi

wait_until 30 "nginx listening on 127.0.0.1:8080" port_open 8080
log "nginx ready on 127.0.0.1:8080, root $WEB_ROOT (changed: $changed)"

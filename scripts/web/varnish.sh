# shellcheck shell=bash
# Host step: Varnish on :80 (and, with a certificate, :81 for the load balancer's TLS listener) in front of Nginx on
# 127.0.0.1:8080. A changed VCL is reloaded without dropping the cache; changed listen/storage settings restart it.
# Params: VCL (scripts/web/varnish.vcl), HTTP_PORT (80), TLS_PORT (81, or empty: no TLS listener), HTTPS_REDIRECT
# (1: plain HTTP only redirects to HTTPS; needs TLS_PORT), CACHE_SIZE (e.g. 256m).
need VCL HTTP_PORT CACHE_SIZE
[ "${HTTPS_REDIRECT:-0}" != 1 ] || [ -n "${TLS_PORT:-}" ] || die "HTTPS_REDIRECT=1 needs TLS_PORT (the TLS listener's port)"
command -v varnishd >/dev/null || die "varnish not installed (packages step)"

vcl_file=/etc/varnish/ha-wordpress.vcl
pidfile=/run/varnishd.pid
# The VCL tells the listeners apart by name: "redirect" sends visitors to HTTPS, "tls" is the load balancer's TLS one.
plain=http
if [ "${HTTPS_REDIRECT:-0}" = 1 ]; then plain=redirect; fi
args=(-a "${plain}=:${HTTP_PORT}")
if [ -n "${TLS_PORT:-}" ]; then args+=(-a "tls=:${TLS_PORT}"); fi
args+=(-f "$vcl_file" -s "malloc,${CACHE_SIZE}" -p feature=+http2)

vcl_changed=no
if write_if_changed "$vcl_file" "$VCL" 0644; then vcl_changed=yes; fi
# Compile before touching the running daemon, so a bad VCL never takes the node down.
varnishd -C -f "$vcl_file" >/dev/null 2>&1 || { varnishd -C -f "$vcl_file" 2>&1 | tail -n 20 >&2; die "VCL does not compile"; }

reload_vcl() {
  local name
  name="ha_$(date +%s)"
  varnishadm vcl.load "$name" "$vcl_file" >/dev/null && varnishadm vcl.use "$name" >/dev/null
  log "VCL reloaded as $name"
}

if [ -d /run/systemd/system ]; then
  dropin="[Service]
ExecStart=
ExecStart=/usr/sbin/varnishd -j unix,user=vcache -F ${args[*]}"
  unit_changed=no
  if write_if_changed /etc/systemd/system/varnish.service.d/ha-wordpress.conf "$dropin" 0644; then
    unit_changed=yes
    systemctl daemon-reload
  fi
  systemctl enable --quiet varnish
  if [ "$unit_changed" = yes ] || ! systemctl is-active --quiet varnish; then systemctl restart varnish
  elif [ "$vcl_changed" = yes ]; then reload_vcl; fi
else
  # No systemd: varnishd daemonizes; the argument list is kept beside the pid so a changed one means restart.
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    if [ "$(cat /run/varnishd.args 2>/dev/null || true)" != "${args[*]}" ]; then
      kill "$(cat "$pidfile")"
      gone() { ! kill -0 "$(cat "$pidfile")" 2>/dev/null; }
      wait_until 30 "old varnishd to exit" gone
      varnishd "${args[@]}" -P "$pidfile"
      log "restarted"
    elif [ "$vcl_changed" = yes ]; then reload_vcl; fi
  else
    varnishd "${args[@]}" -P "$pidfile"
    log "started"
  fi
  printf '%s\n' "${args[*]}" >/run/varnishd.args
fi

wait_until 30 "varnish listening on :${HTTP_PORT}" port_open "$HTTP_PORT"
log "varnish ready on :${HTTP_PORT}${TLS_PORT:+ and :${TLS_PORT}} (VCL changed: $vcl_changed)"

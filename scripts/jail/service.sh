# shellcheck shell=bash
# Host step: jailwatch running as a service (systemd unit, or started directly on hosts without systemd) and
# restarted when — and only when — the installed binary or configuration differs from what it was started with:
# the step records a hash of both on the host when it (re)starts the daemon, and compares on every run.
# Params: UNIT_FILE (the systemd unit file), DEPLOY_ID (hashes of what the plan ships; logged, and it makes the
#   command text change exactly when the binary or config does).
need UNIT_FILE DEPLOY_ID
command -v jailwatch >/dev/null || die "jailwatch not installed (binary step)"
[ -d /etc/jailwatch ] || die "/etc/jailwatch missing (config step)"

deployed=/var/lib/jailwatch/.ha-deployed
# What is on disk now: the binary and every file of the config directory.
want="$(sha256sum /usr/local/bin/jailwatch | cut -d' ' -f1) $(cd /etc/jailwatch && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
have=$(cat "$deployed" 2>/dev/null || true)
mkdir -p /var/lib/jailwatch
chmod 0700 /var/lib/jailwatch

if [ -d /run/systemd/system ]; then
  unit_path=/etc/systemd/system/jailwatch.service
  if write_if_changed "$unit_path" "$UNIT_FILE" 0644; then
    systemctl daemon-reload
    have="unit changed"
  fi
  # After a reboot the kernel sets are empty until jailwatch restores them: Varnish, where visitors come in, waits
  # for jailwatch to have started (ordering only: a failed jailwatch does not keep the site down).
  if write_if_changed /etc/systemd/system/varnish.service.d/ha-wordpress-jailwatch.conf "[Unit]
After=jailwatch.service" 0644; then
    systemctl daemon-reload
  fi
  systemctl enable --quiet jailwatch.service
  if [ "$have" != "$want" ] && systemctl is-active --quiet jailwatch.service; then
    systemctl restart jailwatch.service
    log "restarted (binary or configuration changed)"
  elif systemctl is-active --quiet jailwatch.service; then
    log "running, binary and configuration unchanged"
  else
    systemctl start jailwatch.service
    log "started"
  fi
else
  # No systemd: the daemon answering on this host's control socket is the truth (a pid file can be stale, and
  # without a pid namespace a pid may belong to another host). Its pid comes from the socket's owner.
  sock=/run/jailwatch/jailwatch.sock
  answering() { jailwatch client -s "$sock" ping >/dev/null 2>&1; }
  socket_pid() { ss -xlpnH 2>/dev/null | awk -v s="$sock" '$5 == s' | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2; }
  if answering && [ "$have" != "$want" ]; then
    pid=$(socket_pid)
    jailwatch client -s "$sock" stop >/dev/null 2>&1 || { [ -z "$pid" ] || kill "$pid" || true; }
    stopped() { ! answering && { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; }; }
    wait_until 30 "jailwatch to stop" stopped
    log "stopped the old daemon (binary or configuration changed)"
  fi
  if answering; then
    log "running, binary and configuration unchanged"
  else
    mkdir -p /run/jailwatch /var/log
    chmod 0700 /run/jailwatch
    setsid jailwatch server -c /etc/jailwatch -f >>/var/log/jailwatch.log 2>&1 </dev/null &
    log "started without systemd (pid $!, log /var/log/jailwatch.log)"
  fi
fi

ping_ok() { jailwatch client ping; }
wait_until 30 "jailwatch to answer on its control socket" ping_ok
printf '%s\n' "$want" >"$deployed"
log "jailwatch running ($DEPLOY_ID): $(jailwatch client status | tr '\n' ' ')"

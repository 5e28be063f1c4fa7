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
  if ! [ -f "$unit_path" ] || [ "$(cat "$unit_path")" != "$UNIT_FILE" ]; then
    printf '%s\n' "$UNIT_FILE" >"$unit_path"
    systemctl daemon-reload
    have="unit changed"
  fi
  systemctl enable --quiet jailwatch.service
  if [ "$have" != "$want" ] && systemctl is-active --quiet jailwatch.service; then
    systemctl restart jailwatch.service
    log "restarted (binary or configuration changed)"
  else
    systemctl start jailwatch.service
  fi
else
  pidfile=/run/jailwatch.pid
  own() {
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'jailwatch.* server'
  }
  if own && [ "$have" != "$want" ]; then
    pid=$(cat "$pidfile")
    kill "$pid"
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    wait_until 30 "jailwatch (pid $pid) to stop" gone
    log "stopped the old daemon (binary or configuration changed)"
  fi
  if ! own; then
    mkdir -p /run/jailwatch /var/log
    setsid jailwatch server -c /etc/jailwatch -f >>/var/log/jailwatch.log 2>&1 </dev/null &
    echo $! >"$pidfile"
    log "started without systemd (pid $!, log /var/log/jailwatch.log)"
  fi
fi

ping_ok() { jailwatch client ping; }
wait_until 30 "jailwatch to answer on its control socket" ping_ok
printf '%s\n' "$want" >"$deployed"
log "jailwatch running ($DEPLOY_ID): $(jailwatch client status | tr '\n' ' ')"

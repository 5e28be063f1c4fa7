# shellcheck shell=bash
# Host step: the node's metrics publisher. Installs the health script and the publisher under
# /usr/local/lib/ha-wordpress, its config, and a systemd service + timer that runs the publisher every minute; in
# aws mode also Debian's AWS CLI, which signs PutMetricData with the instance role (no key on the host).
# Safe to run twice: every file is written only when its content differs, systemd is reloaded and the timer
# restarted only when a unit changed; an unchanged node is left exactly as it was.
# Params: MODE (aws: publish to CloudWatch; dry-run: the timer prints the payload to the journal, for hosts without
#   AWS such as the lab), NAMESPACE, NODE, REGION, PUBLISHER (scripts/ops/publish-metrics.sh), HEALTH_SCRIPT
#   (scripts/gluster/health.sh), SERVICE_UNIT, TIMER_UNIT (scripts/ops/ha-wordpress-metrics.{service,timer}).
need MODE NAMESPACE NODE REGION PUBLISHER HEALTH_SCRIPT SERVICE_UNIT TIMER_UNIT
require_systemd
case $MODE in aws | dry-run) ;; *) die "MODE must be aws or dry-run, got '$MODE'" ;; esac

lib=/usr/local/lib/ha-wordpress
if [ "$MODE" = aws ] && ! command -v aws >/dev/null; then
  log "installing the AWS CLI (Debian's awscli)"
  apt-get -q -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends awscli
fi

changed=()
write_if_changed "$lib/health" "$HEALTH_SCRIPT" 0755 && changed+=(health)
write_if_changed "$lib/publish-metrics" "$PUBLISHER" 0755 && changed+=(publisher)
write_if_changed /etc/ha-wordpress/metrics.env "# written by ha-wordpress (scripts/ops/metrics.sh); read by $lib/publish-metrics
NAMESPACE=${NAMESPACE}
NODE=${NODE}
REGION=${REGION}
HEALTH=bash ${lib}/health
PUBLISH_MODE=${MODE}" 0644 && changed+=(config)
units_changed=0
write_if_changed /etc/systemd/system/ha-wordpress-metrics.service "$SERVICE_UNIT" 0644 && { units_changed=1; changed+=(service); }
write_if_changed /etc/systemd/system/ha-wordpress-metrics.timer "$TIMER_UNIT" 0644 && { units_changed=1; changed+=(timer); }
[ "$units_changed" -eq 0 ] || systemctl daemon-reload
systemctl enable --quiet ha-wordpress-metrics.timer
if ! systemctl is-active --quiet ha-wordpress-metrics.timer; then
  systemctl start ha-wordpress-metrics.timer
  log "timer started"
elif [ "$units_changed" -eq 1 ]; then
  systemctl restart ha-wordpress-metrics.timer
  log "timer restarted (unit changed)"
fi

# Check what the timer will run, now, so a broken health script or publisher fails the deployment and says why.
# The dry run proves the health output parses; in aws mode one real call proves the role and the network (a fresh
# instance profile can take a few seconds to reach the instance).
"$lib/publish-metrics" --dry-run >/dev/null || die "the publisher's dry run failed (see above)"
if [ "$MODE" = aws ]; then
  publish_once() { "$lib/publish-metrics" >/dev/null; }
  wait_until 120 "a PutMetricData call to CloudWatch to succeed (instance role with cloudwatch:PutMetricData on ${NAMESPACE}?)" publish_once
fi
if [ "${#changed[@]}" -eq 0 ]; then
  log "publisher unchanged, timer running (${MODE}, namespace ${NAMESPACE})"
else
  log "publisher installed (${MODE}, namespace ${NAMESPACE}); changed: ${changed[*]}"
fi

#!/usr/bin/env bash
# The node's metrics publisher, installed as /usr/local/lib/ha-wordpress/publish-metrics by scripts/ops/metrics.sh
# and run every minute by ha-wordpress-metrics.timer. It asks the health script for the node's facts
# (`HEALTH --metrics`: one `NAME VALUE` line each) and sends them to CloudWatch in ONE PutMetricData call, with the
# dimensions InstanceId (from the instance metadata service, IMDSv2) and Node, using the instance role's
# credentials (the AWS CLI finds them itself). Nothing here holds a secret.
#
#   publish-metrics [--dry-run]    --dry-run (or PUBLISH_MODE=dry-run in the config): print the payload, call nothing
#
# Config (HA_METRICS_CONFIG, default /etc/ha-wordpress/metrics.env): NAMESPACE, NODE, REGION, HEALTH (the health
# command), PUBLISH_MODE (aws or dry-run). INSTANCE_ID in the environment or the config skips the metadata lookup.
# A line of the health output that is not a known name and a number is counted and reported, never published and
# never fatal; a health command that fails publishes nothing (the VolumeMounted alarm treats silence as breaching).
set -Eeuo pipefail

config=${HA_METRICS_CONFIG:-/etc/ha-wordpress/metrics.env}
dry_run=0
for arg in "$@"; do
  case $arg in
    --dry-run) dry_run=1 ;;
    *) echo "publish-metrics: unknown argument '$arg' (usage: publish-metrics [--dry-run])" >&2; exit 2 ;;
  esac
done

# The config is ours (written by the metrics step), but read it as data, not as code.
conf_get() { sed -n "s/^$1=//p" "$config" 2>/dev/null | tail -n1; }
NAMESPACE=${NAMESPACE:-$(conf_get NAMESPACE)}
NODE=${NODE:-$(conf_get NODE)}
REGION=${REGION:-$(conf_get REGION)}
HEALTH=${HEALTH:-$(conf_get HEALTH)}
PUBLISH_MODE=${PUBLISH_MODE:-$(conf_get PUBLISH_MODE)}
INSTANCE_ID=${INSTANCE_ID:-$(conf_get INSTANCE_ID)}
PUBLISH_MODE=${PUBLISH_MODE:-aws}
[ "$PUBLISH_MODE" = "dry-run" ] && dry_run=1

fail() { echo "publish-metrics on $(hostname): $*" >&2; exit 1; }
[[ ${NAMESPACE:-} =~ ^[A-Za-z0-9._/#:-]{1,255}$ ]] || fail "NAMESPACE '${NAMESPACE:-}' missing or invalid (config $config)"
[[ ${NODE:-} =~ ^[A-Za-z0-9._-]{1,64}$ ]] || fail "NODE '${NODE:-}' missing or invalid (config $config)"
[ -n "${HEALTH:-}" ] || fail "HEALTH (the health command) missing (config $config)"
if [ "$dry_run" -eq 0 ]; then
  [[ ${REGION:-} =~ ^[a-z]{2}(-gov)?-[a-z]+-[0-9]$ ]] || fail "REGION '${REGION:-}' missing or invalid (config $config)"
  command -v aws >/dev/null || fail "the AWS CLI (aws) is not installed"
fi

# The metric names and their units: the same list as components/monitoringPlan.ts HEALTH_METRICS.
declare -A unit=(
  [PeersConnected]=Count [BricksOnline]=Count [HealPending]=Count [SplitBrainEntries]=Count
  [VolumeMounted]=None [BrickDiskUsedPercent]=Percent [JailwatchBansLastMinute]=Count
)

instance_id() {
  if [ -n "${INSTANCE_ID:-}" ]; then printf '%s\n' "$INSTANCE_ID"; return; fi
  # A host configured for dry runs (the lab) is no EC2 instance: never send anything to the metadata address there.
  [ "$PUBLISH_MODE" = aws ] || return 1
  local token
  # IMDSv2 only (the instances require tokens): a PUT for a short-lived token, then the id with it.
  token=$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) || return 1
  curl -fsS -m 2 -H "X-aws-ec2-metadata-token: ${token}" http://169.254.169.254/latest/meta-data/instance-id
}
if ! iid=$(instance_id) || [[ ! $iid =~ ^i-[0-9a-f]{8,17}$ ]]; then
  [ "$dry_run" -eq 1 ] || fail "no instance id from the instance metadata service (IMDSv2)"
  iid=unknown-instance   # the lab has no metadata service; a dry run still shows the payload
fi

# HEALTH may be a command with arguments (e.g. "bash /path/health.sh"): split on spaces, never evaluated.
read -r -a health_cmd <<<"$HEALTH"
if ! out=$("${health_cmd[@]}" --metrics); then
  fail "health command '$HEALTH --metrics' failed; nothing published"
fi

data=() bad=0 seen=""
while IFS= read -r line || [ -n "$line" ]; do
  [ -n "${line//[[:space:]]/}" ] || continue
  read -r name value rest <<<"$line" || true
  if [ -n "${rest:-}" ] || [[ ! ${name:-} =~ ^[A-Za-z]+$ ]] || [ -z "${unit[$name]+x}" ] || [[ ! ${value:-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
    bad=$((bad + 1))
    continue
  fi
  case " $seen " in *" $name "*) bad=$((bad + 1)); continue ;; esac
  seen+=" $name"
  data+=("{\"MetricName\":\"${name}\",\"Dimensions\":[{\"Name\":\"InstanceId\",\"Value\":\"${iid}\"},{\"Name\":\"Node\",\"Value\":\"${NODE}\"}],\"Value\":${value},\"Unit\":\"${unit[$name]}\"}")
done <<<"$out"
[ "$bad" -eq 0 ] || echo "publish-metrics on $(hostname): ignored ${bad} health line(s) that are not a known NAME and a number" >&2
[ "${#data[@]}" -gt 0 ] || fail "the health command printed no metric"

payload="{\"Namespace\":\"${NAMESPACE}\",\"MetricData\":[$(IFS=,; printf '%s' "${data[*]}")]}"
if [ "$dry_run" -eq 1 ]; then
  printf '%s\n' "$payload"
  exit 0
fi
aws --region "$REGION" cloudwatch put-metric-data --cli-input-json "$payload"
echo "published ${#data[@]} metrics to ${NAMESPACE} for ${NODE} (${iid})"

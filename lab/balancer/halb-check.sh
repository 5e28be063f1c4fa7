#!/bin/bash
# The lab's network load balancer (standing in for the NLB): layer 4 in the kernel, nftables DNAT from the public
# address to the healthy web nodes, so packets reach a node with the visitor's own source address (the nodes route
# their replies back through here). Health check as the NLB's: HTTP GET /healthz on each node, RISE good answers
# in a row put a node in, FALL bad ones take it out; with no healthy node at all, every node gets traffic (the NLB
# fails open). Installed by lab/balancer.ts as /usr/local/sbin/halb-check, run by halb.service.
# Config /etc/halb.conf: VIP, PORTS (space-separated), BACKENDS (space-separated addresses), INTERVAL, RISE, FALL.
set -u
# shellcheck source=/dev/null
. /etc/halb.conf
read -r -a backends <<<"${BACKENDS:?}"
declare -A good bad in
for b in "${backends[@]}"; do good[$b]=0; bad[$b]=0; in[$b]=0; done
current="unset"

apply() {
  local list=("$@") map="" i
  [ "${#list[@]}" -gt 0 ] || list=("${backends[@]}")
  for i in "${!list[@]}"; do map+="${map:+, }$i : ${list[$i]}"; done
  # One transaction: the table is replaced whole, never seen half-written. Established connections keep their
  # conntrack entries (their backend), as the NLB keeps a flow on its target.
  nft -f - <<NFT
table ip halb
delete table ip halb
table ip halb {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport { ${PORTS// /, } } dnat to numgen random mod ${#list[@]} map { $map }
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct status dnat accept
  }
}
NFT
}

check() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$1/healthz")" = 200 ]; }

apply
while :; do
  declare -A result=()
  for b in "${backends[@]}"; do
    ( check "$b" ) & result[$b]=$!
  done
  for b in "${backends[@]}"; do
    if wait "${result[$b]}"; then good[$b]=$((good[$b] + 1)); bad[$b]=0; else bad[$b]=$((bad[$b] + 1)); good[$b]=0; fi
    if [ "${in[$b]}" = 0 ] && [ "${good[$b]}" -ge "$RISE" ]; then in[$b]=1; echo "halb: $b healthy: in"; fi
    if [ "${in[$b]}" = 1 ] && [ "${bad[$b]}" -ge "$FALL" ]; then in[$b]=0; echo "halb: $b unhealthy: out"; fi
  done
  healthy=()
  for b in "${backends[@]}"; do [ "${in[$b]}" = 1 ] && healthy+=("$b"); done
  if [ "${healthy[*]:-none}" != "$current" ]; then
    apply "${healthy[@]}"
    current=${healthy[*]:-none}
    echo "halb: serving from ${current}"
    echo "$current" >/run/halb.healthy
  fi
  sleep "$INTERVAL"
done

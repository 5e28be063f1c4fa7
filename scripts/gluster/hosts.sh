# shellcheck shell=bash
# Host step "names": node-gfs1..N resolve to their private addresses on this host.
# Parameters: NODE_COUNT, NODE_NAME_<i>, NODE_IP_<i> for i = 1..NODE_COUNT.
# The entries live in a managed block at the top of /etc/hosts, the only place these names appear. The block is rebuilt from the parameters on every run: an address change rewrites it, a
# rerun with the same addresses leaves the file untouched.
need NODE_COUNT
[[ $NODE_COUNT =~ ^[1-9][0-9]*$ ]] || die "NODE_COUNT '$NODE_COUNT' is not a positive number"

begin_marker="# BEGIN ha-wordpress gluster nodes (managed by ha-wordpress; edits inside are overwritten)"
end_marker="# END ha-wordpress gluster nodes"
block=$begin_marker
for ((i = 1; i <= NODE_COUNT; i++)); do
  need "NODE_NAME_$i" "NODE_IP_$i"
  name_var="NODE_NAME_$i" ip_var="NODE_IP_$i"
  name=${!name_var} ip=${!ip_var}
  is_ipv4 "$ip" || die "NODE_IP_$i '$ip' is not an IPv4 address"
  [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$ ]] || die "NODE_NAME_$i '$name' is not a valid host name"
  block+=$'\n'"$ip $name"
done
block+=$'\n'"$end_marker"
names=$(for ((i = 1; i <= NODE_COUNT; i++)); do v="NODE_NAME_$i"; printf '%s ' "${!v}"; done)

# with_block FILE: prints FILE with the managed block replaced (at the top, or below a cloud-init template header).
# The block is authoritative for our names: they are removed from every other line (a line left without names goes),
# since getaddrinfo returns every address a name has, sorted, and a stale one could win.
with_block() {
  BLOCK=$block BEGIN_MARKER=$begin_marker END_MARKER=$end_marker NAMES=$names awk '
    BEGIN { n = split(ENVIRON["NAMES"], list, " "); for (i = 1; i <= n; i++) ours[list[i]] = 1 }
    function emit() { if (!done) { print ENVIRON["BLOCK"]; done = 1 } }
    NR == 1 && /^## template:/ { print; emit(); next }
    { emit() }
    $0 == ENVIRON["BEGIN_MARKER"] { skipping = 1; next }
    skipping && $0 == ENVIRON["END_MARKER"] { skipping = 0; next }
    skipping { next }
    /^[[:space:]]*(#|$)/ { print; next }
    {
      line = $0; comment = ""
      if ((c = index(line, "#")) > 0) { comment = " " substr(line, c); line = substr(line, 1, c - 1) }
      m = split(line, f, /[[:space:]]+/); out = ""; kept = 0; dropped = 0
      for (i = 1; i <= m; i++) {
        if (f[i] == "") continue
        if (out == "") { out = f[i]; continue }
        if (f[i] in ours) { dropped = 1; continue }
        out = out " " f[i]; kept++
      }
      if (!dropped) { print; next }
      if (kept > 0) print out comment
      print "ha-wordpress: dropped our names from: " $0 > "/dev/stderr"
    }
    END { emit() }' "$1"
}

# update FILE: rewrites FILE in place (same inode: /etc/hosts may be a bind mount) only when the content changes.
update() {
  local file=$1 tmp
  tmp=$(mktemp)
  with_block "$file" >"$tmp"
  if cmp -s "$tmp" "$file"; then
    log "$file already up to date"
  else
    cat "$tmp" >"$file"
    log "$file: managed block written"
  fi
  rm -f "$tmp"
}

[ -e /etc/hosts ] || : >/etc/hosts
update /etc/hosts
# cloud-init may regenerate /etc/hosts from this template at boot (manage_etc_hosts); keep the block there as well.
template=/etc/cloud/templates/hosts.debian.tmpl
if [ -f "$template" ]; then update "$template"; fi

for ((i = 1; i <= NODE_COUNT; i++)); do
  name_var="NODE_NAME_$i" ip_var="NODE_IP_$i"
  got=$({ getent ahostsv4 "${!name_var}" || true; } | awk 'NR == 1 { print $1 }')
  [ "$got" = "${!ip_var}" ] || die "${!name_var} resolves to '${got}', expected ${!ip_var} (check /etc/nsswitch.conf)"
done
log "names resolve: $names"

# shellcheck shell=bash
# Host step: install the web stack's Debian packages (only those missing).
# Params: PACKAGES (space-separated Debian package names).
need PACKAGES

read -r -a wanted <<<"$PACKAGES"
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  log "all ${#wanted[@]} packages present"
  exit 0
fi

log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# cloud-init or unattended-upgrades may hold the dpkg lock right after boot: wait for it rather than fail.
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
log "installed ${#missing[@]} packages"

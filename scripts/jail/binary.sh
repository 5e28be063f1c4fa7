# shellcheck shell=bash
# Host step: the jailwatch executable at /usr/local/bin/jailwatch, replaced only when its SHA-256 differs.
# Params: BINARY_URL (https:// — e.g. the stack's S3 object, fetched through the VPC endpoint — or file:///path on
#   the host), BINARY_SHA256 (of the executable; the download is verified before it is installed).
need BINARY_URL BINARY_SHA256
[[ "$BINARY_SHA256" =~ ^[0-9a-f]{64}$ ]] || die "BINARY_SHA256 must be 64 hex digits"
target=/usr/local/bin/jailwatch

if [ -f "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$BINARY_SHA256" ]; then
  log "jailwatch already installed (sha256 ${BINARY_SHA256:0:12})"
  exit 0
fi

tmp=$(mktemp /usr/local/bin/.jailwatch.XXXXXX)
trap 'rm -f "$tmp"' EXIT
case "$BINARY_URL" in
  file://*) cp "${BINARY_URL#file://}" "$tmp" ;;
  https://*|http://*) curl -fsSL --retry 5 --retry-delay 2 -o "$tmp" "$BINARY_URL" ;;
  *) die "BINARY_URL must be https://, http:// or file://, got '$BINARY_URL'" ;;
esac
got=$(sha256sum "$tmp" | cut -d' ' -f1)
[ "$got" = "$BINARY_SHA256" ] || die "jailwatch from $BINARY_URL has sha256 $got, expected $BINARY_SHA256"
chmod 0755 "$tmp"
"$tmp" --version >/dev/null || die "the downloaded jailwatch does not run on this host"
mv -f "$tmp" "$target"
trap - EXIT
log "installed $("$target" --version) (sha256 ${BINARY_SHA256:0:12})"

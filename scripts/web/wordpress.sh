# shellcheck shell=bash
# Host step (every node): WordPress files on the shared volume, copied exactly once, and wp-config.php.
#
# All three nodes run this step, possibly at the same moment. The volume itself arbitrates: `mkdir` of the lock
# directory succeeds on exactly one node (Gluster takes an entry lock on the parent), the winner copies the files and
# writes the `installed` marker, the others wait for the lock to go and then find the marker. Lock and marker live in
# STATE_DIR, outside the web root, so they are never served. A lock older than 30 minutes (its holder died) is broken.
#
# Params: MOUNT_POINT, WEB_ROOT, STATE_DIR, SOURCE (debian|tarball), SOURCE_DIR (debian: /usr/share/wordpress),
#   TARBALL_URL + TARBALL_SHA256 (tarball), DB_HOST, DB_NAME, DB_USER, DB_PASSWORD, WP_SALTS (8 space-separated
#   values), SITE_URL (empty: taken from the request's Host), TABLE_PREFIX, FORCE_SSL_ADMIN (1: logins and the admin
#   only over HTTPS; set with a certificate). DB_USER/DB_PASSWORD are WordPress's own database user, not the master
#   user. DB_PASSWORD and WP_SALTS are secrets (on stdin): never echoed.
need MOUNT_POINT WEB_ROOT STATE_DIR SOURCE DB_HOST DB_NAME DB_USER DB_PASSWORD WP_SALTS TABLE_PREFIX

mountpoint -q "$MOUNT_POINT" || die "$MOUNT_POINT is not mounted: refusing to install WordPress onto the local disk"
case "$WEB_ROOT" in "$MOUNT_POINT"/*) ;; *) die "WEB_ROOT ($WEB_ROOT) must lie on the shared volume ($MOUNT_POINT)" ;; esac
case "$STATE_DIR" in "$MOUNT_POINT"/*) ;; *) die "STATE_DIR ($STATE_DIR) must lie on the shared volume ($MOUNT_POINT)" ;; esac
[[ "$TABLE_PREFIX" =~ ^[A-Za-z0-9_]+$ ]] || die "TABLE_PREFIX may hold only letters, digits and _"
read -r -a salts <<<"$WP_SALTS"
[ "${#salts[@]}" -eq 8 ] || die "WP_SALTS must hold 8 space-separated values, got ${#salts[@]}"

lock="$STATE_DIR/install.lock"
marker="$STATE_DIR/installed"
mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"

take_lock() {
  local age
  while ! mkdir "$lock" 2>/dev/null; do
    age=$(( $(date +%s) - $(stat -c %Y "$lock" 2>/dev/null || date +%s) ))
    if [ "$age" -gt 1800 ]; then
      log "breaking a stale install lock (${age}s old, held by $(cat "$lock/owner" 2>/dev/null || echo unknown))"
      # Move it aside first: of two nodes breaking the same stale lock, only one rename succeeds.
      mv "$lock" "$lock.stale.$(hostname).$$" 2>/dev/null && rm -rf "$lock.stale.$(hostname).$$"
      continue
    fi
    sleep 1
  done
  echo "$(hostname) $$ $(date -u +%FT%TZ)" >"$lock/owner"
}
release_lock() { rm -rf "$lock"; }

# Source tree into $1 (a fresh directory on the volume).
fetch_source() {
  local dest=$1
  case "$SOURCE" in
    debian)
      need SOURCE_DIR
      [ -f "$SOURCE_DIR/wp-includes/version.php" ] || die "no WordPress under $SOURCE_DIR (is the Debian package 'wordpress' installed?)"
      # -L: Debian links bundled libraries to other packages' files; the volume needs real files.
      cp -rL "$SOURCE_DIR/." "$dest/"
      # Debian's wp-config.php is a loader for /etc/wordpress; ours replaces it. .htaccess is Apache-only.
      rm -f "$dest/wp-config.php" "$dest/.htaccess"
      if [ -d /var/lib/wordpress/wp-content ] && [ -L "$SOURCE_DIR/wp-content" ]; then cp -rL /var/lib/wordpress/wp-content/. "$dest/wp-content/"; fi
      ;;
    tarball)
      need TARBALL_URL TARBALL_SHA256
      local tgz
      tgz=$(mktemp /tmp/wordpress.XXXXXX.tar.gz)
      curl -fsSL --retry 5 -o "$tgz" "$TARBALL_URL"
      echo "$TARBALL_SHA256  $tgz" | sha256sum -c --quiet - || { rm -f "$tgz"; die "checksum mismatch for $TARBALL_URL"; }
      tar -xzf "$tgz" -C "$dest" --strip-components=1 --no-same-owner
      rm -f "$tgz"
      ;;
    *) die "SOURCE must be 'debian' or 'tarball', got '$SOURCE'" ;;
  esac
  [ -f "$dest/wp-includes/version.php" ] || die "WordPress source has no wp-includes/version.php"
}

php_quote() {
  local s=${1//\\/\\\\}
  s=${s//\'/\\\'}
  printf "'%s'" "$s"
}

wp_config() {
  local names=(AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT) i
  echo "<?php"
  echo "// Written by ha-wordpress (scripts/web/wordpress.sh) from the stack's config; edits are overwritten."
  echo "define('DB_NAME', $(php_quote "$DB_NAME"));"
  echo "define('DB_USER', $(php_quote "$DB_USER"));"
  echo "define('DB_PASSWORD', $(php_quote "$DB_PASSWORD"));"
  echo "define('DB_HOST', $(php_quote "$DB_HOST"));"
  echo "define('DB_CHARSET', 'utf8mb4');"
  echo "define('DB_COLLATE', '');"
  for i in "${!names[@]}"; do echo "define('${names[$i]}', $(php_quote "${salts[$i]}"));"; done
  echo "\$table_prefix = '$TABLE_PREFIX';"
  cat <<'PHP'
// Varnish sets X-Forwarded-Proto only for requests that came through the load balancer's TLS listener.
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && $_SERVER['HTTP_X_FORWARDED_PROTO'] === 'https') {
    $_SERVER['HTTPS'] = 'on';
}
// Files are shared by all nodes on the Gluster volume: plugins and updates write there directly.
define('FS_METHOD', 'direct');
PHP
  if [ "${FORCE_SSL_ADMIN:-0}" = 1 ]; then
    echo "// The site has a certificate: logins and the admin only over HTTPS (cookies marked secure)."
    echo "define('FORCE_SSL_ADMIN', true);"
  fi
  if [ -n "${SITE_URL:-}" ]; then
    echo "define('WP_HOME', $(php_quote "$SITE_URL"));"
    echo "define('WP_SITEURL', $(php_quote "$SITE_URL"));"
  else
    cat <<'PHP'
// No fixed site URL configured: every node answers under the name it was asked by.
if (!empty($_SERVER['HTTP_HOST']) && preg_match('/^[A-Za-z0-9.:\[\]-]+$/', $_SERVER['HTTP_HOST'])) {
    $ha_scheme = (isset($_SERVER['HTTPS']) && $_SERVER['HTTPS'] === 'on') ? 'https' : 'http';
    define('WP_HOME', $ha_scheme . '://' . $_SERVER['HTTP_HOST']);
    define('WP_SITEURL', $ha_scheme . '://' . $_SERVER['HTTP_HOST']);
}
PHP
  fi
  cat <<'PHP'
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
PHP
}

take_lock
trap 'release_lock' EXIT
if [ -f "$marker" ]; then
  log "WordPress already on the volume ($(head -n1 "$marker"))"
else
  stage="$STATE_DIR/stage.$(hostname).$$"
  mkdir -p "$stage"
  fetch_source "$stage"
  if [ -d "$WEB_ROOT" ] && [ -n "$(ls -A "$WEB_ROOT")" ]; then
    # Someone put a site there already (e.g. migrated files): add only what is missing, never overwrite.
    cp -rn "$stage/." "$WEB_ROOT/"
    rm -rf "$stage"
    log "merged WordPress into the existing $WEB_ROOT without overwriting"
  else
    rmdir "$WEB_ROOT" 2>/dev/null || true
    mkdir -p "$(dirname "$WEB_ROOT")"
    mv "$stage" "$WEB_ROOT"
    log "copied WordPress ($SOURCE) to $WEB_ROOT"
  fi
  mkdir -p "$WEB_ROOT/wp-content/uploads"
  # www-data owns the tree: media uploads, plugin installs and core updates write to the shared volume.
  chown -R www-data:www-data "$WEB_ROOT"
  version=$(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$WEB_ROOT/wp-includes/version.php")
  echo "WordPress ${version:-unknown} from $SOURCE by $(hostname) at $(date -u +%FT%TZ)" >"$marker.tmp"
  mv -f "$marker.tmp" "$marker"
fi

config=$(wp_config)
target="$WEB_ROOT/wp-config.php"
if [ -f "$target" ] && [ "$(cat "$target")" = "$config" ]; then
  log "wp-config.php up to date"
else
  # Staged in STATE_DIR (same volume, outside the web root, 0700): a temporary copy in the web root would be served.
  tmp="$STATE_DIR/wp-config.php.$(hostname)"
  ( umask 027; printf '%s\n' "$config" >"$tmp" )
  chown root:www-data "$tmp"
  chmod 0640 "$tmp"
  mv -f "$tmp" "$target"
  log "wp-config.php written"
fi

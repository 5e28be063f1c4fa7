# shellcheck shell=bash
# Host step (first node only): the database side of WordPress, done once. Waits for the database, optionally imports
# an existing SQL dump into an empty database (the seed moved its existing site), then runs WordPress's own installer
# unless the site is already installed (tables present). Re-running changes nothing.
#
# Params: WEB_ROOT, DB_HOST, DB_NAME, DB_USER, DB_PASSWORD, INSTALL_URL (address recorded as home/siteurl),
#   SITE_TITLE, ADMIN_USER, ADMIN_PASSWORD, ADMIN_EMAIL, TABLE_PREFIX, SQL_DUMP_URL (optional: https:// or a path
#   on the host; .sql or .sql.gz), SQL_DUMP_SHA256 (with SQL_DUMP_URL: the dump's SHA-256, checked before import).
#   DB_USER is WordPress's own database user. DB_PASSWORD and ADMIN_PASSWORD are secrets (on stdin): never echoed,
#   never on a command line.
need WEB_ROOT DB_HOST DB_NAME DB_USER DB_PASSWORD INSTALL_URL SITE_TITLE ADMIN_USER ADMIN_PASSWORD ADMIN_EMAIL TABLE_PREFIX
[ -f "$WEB_ROOT/wp-config.php" ] || die "no wp-config.php under $WEB_ROOT (the wordpress step runs first)"
command -v mysql >/dev/null || die "mysql client not installed (packages step)"
command -v php >/dev/null || die "php CLI not installed (packages step)"
[[ "$TABLE_PREFIX" =~ ^[A-Za-z0-9_]+$ ]] || die "TABLE_PREFIX may hold only letters, digits and _"
case "$DB_PASSWORD" in *\"*|*\\*) die "DB_PASSWORD must not contain a double quote or backslash" ;; esac

# Credentials reach the mysql client through a 0600 file, not argv (visible in ps).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mysql_host=${DB_HOST%:*}
mysql_port=3306
[ "$mysql_host" = "$DB_HOST" ] || mysql_port=${DB_HOST##*:}
( umask 077; printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword="%s"\n' "$mysql_host" "$mysql_port" "$DB_USER" "$DB_PASSWORD" >"$work/my.cnf" )
sql() { mysql --defaults-extra-file="$work/my.cnf" --batch --skip-column-names "$@"; }

db_up() { sql -e 'SELECT 1' "$DB_NAME"; }
wait_until 300 "database $DB_NAME at $DB_HOST to accept our login" db_up

# Import only into a database with no tables at all: a dump that uses another table prefix must not be imported
# again on every re-run (a mysqldump drops and recreates its tables, losing everything written since).
tables=$(sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()" "$DB_NAME")
if [ "$tables" = 0 ] && [ -n "${SQL_DUMP_URL:-}" ]; then
  [[ ${SQL_DUMP_SHA256:-} =~ ^[0-9a-f]{64}$ ]] || die "SQL_DUMP_SHA256 must be the dump's SHA-256 (64 hex digits)"
  case "$SQL_DUMP_URL" in
    https://*) curl -fsSL --proto '=https' --retry 5 -o "$work/dump" "$SQL_DUMP_URL" ;;
    /*) [ -f "$SQL_DUMP_URL" ] || die "SQL dump $SQL_DUMP_URL not found on $(hostname)"; cp "$SQL_DUMP_URL" "$work/dump" ;;
    *) die "SQL_DUMP_URL must be an https:// URL or an absolute path, got '$SQL_DUMP_URL'" ;;
  esac
  got=$(sha256sum "$work/dump" | cut -d' ' -f1)
  [ "$got" = "$SQL_DUMP_SHA256" ] || die "SQL dump $SQL_DUMP_URL has sha256 $got, expected $SQL_DUMP_SHA256; nothing imported"
  if gzip -t "$work/dump" 2>/dev/null; then gzip -dc "$work/dump" | sql "$DB_NAME"; else sql "$DB_NAME" <"$work/dump"; fi
  log "imported SQL dump into the empty database $DB_NAME"
  has_options=$(sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '${TABLE_PREFIX}options'" "$DB_NAME")
  [ "$has_options" != 0 ] || die "the SQL dump has no ${TABLE_PREFIX}options table: it uses another table prefix (set the same prefix for WordPress)"
fi

# WordPress's own installer through its API (no wp-cli in Debian 12). Runs as www-data so anything it creates on
# the shared volume stays writable for PHP-FPM.
cat >"$work/install.php" <<'PHP'
<?php
$url = getenv('HA_INSTALL_URL');
$parts = parse_url($url);
$_SERVER['HTTP_HOST'] = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
require getenv('HA_WEB_ROOT') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (is_blog_installed()) {
    echo "already installed\n";
    exit(0);
}
$result = wp_install(getenv('HA_SITE_TITLE'), getenv('HA_ADMIN_USER'), getenv('HA_ADMIN_EMAIL'), true, '',
    wp_slash(getenv('HA_ADMIN_PASSWORD')));
if (is_wp_error($result)) {
    fwrite(STDERR, $result->get_error_message() . "\n");
    exit(1);
}
update_option('siteurl', $url);
update_option('home', $url);
echo "installed\n";
PHP
chmod 0644 "$work/install.php"
chmod 0711 "$work"
result=$(cd "$WEB_ROOT" && HA_INSTALL_URL="$INSTALL_URL" HA_WEB_ROOT="$WEB_ROOT" HA_SITE_TITLE="$SITE_TITLE" \
  HA_ADMIN_USER="$ADMIN_USER" HA_ADMIN_EMAIL="$ADMIN_EMAIL" HA_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  runuser -u www-data -- php "$work/install.php")
log "WordPress site: $result"

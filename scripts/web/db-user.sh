# shellcheck shell=bash
# Host step (first node only): WordPress's own database user, made with the master user. WordPress and the site
# step log in as this user, which may touch only its one database; the master password reaches only this step (on
# its stdin), never wp-config.php or the web root.
# Params: DB_HOST (host or host:port), DB_NAME, DB_MASTER_USER, DB_APP_USER, DB_APP_HOST (MySQL host pattern the user
#   may log in from, e.g. % on RDS, where the security group admits only the nodes). Secrets (stdin):
#   DB_MASTER_PASSWORD, DB_APP_PASSWORD; never echoed, never on a command line.
# Idempotent: the user is created once; its password is reset only when a login with it fails; grants re-applied.
need DB_HOST DB_NAME DB_MASTER_USER DB_MASTER_PASSWORD DB_APP_USER DB_APP_PASSWORD DB_APP_HOST
command -v mysql >/dev/null || die "mysql client not installed (packages step)"
[[ $DB_NAME =~ ^[A-Za-z][A-Za-z0-9_]*$ ]] || die "DB_NAME '$DB_NAME' may hold only letters, digits and _"
[[ $DB_APP_USER =~ ^[A-Za-z][A-Za-z0-9_]{0,31}$ ]] || die "DB_APP_USER '$DB_APP_USER' may hold only letters, digits and _"
[[ $DB_APP_HOST =~ ^[A-Za-z0-9.%_-]+$ ]] || die "DB_APP_HOST '$DB_APP_HOST' is not a MySQL host pattern"
[ "$DB_APP_USER" != "$DB_MASTER_USER" ] || die "DB_APP_USER must differ from the master user $DB_MASTER_USER"
for v in DB_MASTER_PASSWORD DB_APP_PASSWORD; do
  case "${!v}" in *\"*|*\\*|*\'*) die "$v must not contain quotes or backslashes" ;; esac
done

# Credentials reach the mysql client through 0600 files, not argv (visible in ps).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mysql_host=${DB_HOST%:*}
mysql_port=3306
[ "$mysql_host" = "$DB_HOST" ] || mysql_port=${DB_HOST##*:}
( umask 077
  printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword="%s"\n' "$mysql_host" "$mysql_port" "$DB_MASTER_USER" "$DB_MASTER_PASSWORD" >"$work/master.cnf"
  printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword="%s"\n' "$mysql_host" "$mysql_port" "$DB_APP_USER" "$DB_APP_PASSWORD" >"$work/app.cnf" )
master() { mysql --defaults-extra-file="$work/master.cnf" --batch --skip-column-names "$@"; }
app_login() { mysql --defaults-extra-file="$work/app.cnf" --batch --skip-column-names -e 'SELECT 1' "$DB_NAME"; }

master_up() { master -e 'SELECT 1'; }
wait_until 600 "database at $DB_HOST to accept the master user's login" master_up

account="'${DB_APP_USER}'@'${DB_APP_HOST}'"
if app_login >/dev/null 2>&1; then
  log "user $DB_APP_USER logs in to $DB_NAME already"
else
  # The statements (with the password) go to mysql on stdin, not on its command line.
  master <<SQL
CREATE DATABASE IF NOT EXISTS \`${DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY '${DB_APP_PASSWORD}';
ALTER USER ${account} IDENTIFIED BY '${DB_APP_PASSWORD}';
SQL
  log "user $DB_APP_USER@$DB_APP_HOST created or its password set"
fi
# What WordPress needs on its own database (core and plugin updates create and alter tables), and nothing else: no
# other database, no user management, no server-wide privileges.
master <<SQL
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES ON \`${DB_NAME}\`.* TO ${account};
SQL
wait_until 60 "user $DB_APP_USER to log in to $DB_NAME" app_login
log "user $DB_APP_USER has WordPress's privileges on $DB_NAME only"

#!/usr/bin/env bash
# Lab only: MariaDB on the lab's database host, standing in for RDS. Run inside the host (nsenter), not over SSH.
# Usage: stack-db.sh BIND_ADDRESS DB_NAME MASTER_USER MASTER_PASSWORD CLIENT_PATTERN   (e.g. 10.77.0.% for the nodes)
# The master user is what RDS creates: all privileges, with GRANT OPTION, so the db-user host step can make
# WordPress's own least-privileged user with it.
# Idempotent: the packaged mariadb unit is enabled (so the database comes back after a reboot, as RDS does) and
# started; database and user are created if missing, the password (re)set.
set -euo pipefail
bind=$1 db=$2 user=$3 password=$4 clients=$5
conf=/etc/mysql/mariadb.conf.d/99-ha-lab.cnf
want="[mysqld]
bind-address = $bind
skip-name-resolve"
if [ "$(cat "$conf" 2>/dev/null || true)" != "$want" ]; then
  printf '%s\n' "$want" >"$conf"
  changed=1
fi
systemctl enable --quiet mariadb
if [ "${changed:-0}" = 1 ]; then systemctl restart mariadb; else systemctl start mariadb; fi
for _ in $(seq 1 60); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.5; done
mariadb-admin ping >/dev/null 2>&1 || { echo "stack-db: mariadb did not start" >&2; journalctl -u mariadb -n 20 --no-pager >&2; exit 1; }
esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
mariadb <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$(esc "$user")'@'$(esc "$clients")' IDENTIFIED BY '$(esc "$password")';
ALTER USER '$(esc "$user")'@'$(esc "$clients")' IDENTIFIED BY '$(esc "$password")';
GRANT ALL PRIVILEGES ON *.* TO '$(esc "$user")'@'$(esc "$clients")' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
echo "stack-db: MariaDB on $bind:3306, database $db for $user@$clients"

#!/usr/bin/env bash
# Lab only: MariaDB on the lab's database host, standing in for RDS. Run inside the host (nsenter), not over SSH.
# Usage: stack-db.sh BIND_ADDRESS DB_NAME MASTER_USER MASTER_PASSWORD CLIENT_PATTERN   (e.g. 10.77.0.% for the nodes)
# The master user is what RDS creates: all privileges, with GRANT OPTION, so the db-user host step can make
# WordPress's own least-privileged user with it.
# Idempotent: a running server is kept; database and user are created if missing, the password (re)set.
set -euo pipefail
bind=$1 db=$2 user=$3 password=$4 clients=$5
datadir=/var/lib/mysql-lab
sock=/run/mysqld/mysqld.sock

mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
if ! [ -d "$datadir/mysql" ]; then
  mkdir -p "$datadir"
  chown mysql:mysql "$datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --auth-root-authentication-method=socket >/dev/null
fi
if ! [ -S "$sock" ] || ! mariadb-admin --socket="$sock" ping >/dev/null 2>&1; then
  setsid mariadbd --user=mysql --datadir="$datadir" --socket="$sock" --bind-address="$bind" --port=3306 \
    --skip-name-resolve --pid-file=/run/mysqld/mysqld.pid --log-error=/var/log/ha-lab/mariadb.log </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 60); do mariadb-admin --socket="$sock" ping >/dev/null 2>&1 && break; sleep 0.5; done
  mariadb-admin --socket="$sock" ping >/dev/null 2>&1 || { echo "stack-db: mariadbd did not start" >&2; exit 1; }
fi
esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
mariadb --socket="$sock" <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$(esc "$user")'@'$(esc "$clients")' IDENTIFIED BY '$(esc "$password")';
ALTER USER '$(esc "$user")'@'$(esc "$clients")' IDENTIFIED BY '$(esc "$password")';
GRANT ALL PRIVILEGES ON *.* TO '$(esc "$user")'@'$(esc "$clients")' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
echo "stack-db: MariaDB on $bind:3306, database $db for $user@$clients"

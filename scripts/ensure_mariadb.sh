#!/usr/bin/env bash
# Makes sure a MariaDB server answers on 127.0.0.1:3306 for root with an empty password, which
# is what tests/test_mysql_storage.py uses. Idempotent: when that works already it only says so.
# Meant for CI and development machines only: it opens root over TCP without a password.
# Works without systemd (containers): starts the server with service(8) or start-stop-daemon.
set -euo pipefail

HOST=127.0.0.1
PORT=3306
WAIT_SECONDS=30
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

say() { echo "ensure_mariadb: $*"; }

first_command() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

server_binary() { first_command mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; }

# --no-defaults: the answer must not depend on someone's ~/.my.cnf.
root_over_tcp_works() {
  local client
  client=$(first_command mariadb mysql) || return 1
  "$client" --no-defaults --protocol=tcp -h "$HOST" -P "$PORT" -u root --connect-timeout=2 \
    -e "SELECT 1" >/dev/null 2>&1
}

# `ping` succeeds whenever the server answers at all, even with "access denied".
server_answers() {
  local admin
  admin=$(first_command mariadb-admin mysqladmin) || return 1
  $SUDO "$admin" --no-defaults -u root --connect-timeout=2 ping >/dev/null 2>&1 \
    || "$admin" --no-defaults --protocol=tcp -h "$HOST" -P "$PORT" -u root --connect-timeout=2 ping >/dev/null 2>&1
}

if root_over_tcp_works; then
  say "MariaDB already answers on $HOST:$PORT for root with an empty password; nothing to do"
  exit 0
fi

if ! server_binary >/dev/null; then
  say "installing mariadb-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client
fi

if server_answers; then
  say "the MariaDB server is running"
else
  # Debian's packages make the socket folder at boot (tmpfiles.d), which containers skip.
  if [ ! -d /run/mysqld ]; then
    say "creating /run/mysqld for the server's socket"
    $SUDO mkdir -p /run/mysqld
  fi
  $SUDO chown mysql:mysql /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    say "creating the system tables in /var/lib/mysql"
    $SUDO "$(first_command mariadb-install-db mysql_install_db)" --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/mariadb ] && $SUDO service mariadb start; then
    say "started MariaDB with service mariadb start"
  else
    say "starting $(server_binary) with start-stop-daemon"
    $SUDO start-stop-daemon --start --oknodo --background --exec "$(server_binary)" -- --user=mysql
  fi
  waited=0
  until server_answers; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      say "MariaDB did not answer within $WAIT_SECONDS s; see its log (journalctl or /var/log/mysql)" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "MariaDB answers after ${waited} s"
fi

if ! root_over_tcp_works; then
  # Debian's root logs in through the unix socket only (unix_socket auth); keep that, and
  # allow an empty password over TCP too, for both names a TCP client from 127.0.0.1 may get.
  say "letting root log in over TCP with an empty password (socket login kept)"
  client=$(first_command mariadb mysql)
  $SUDO "$client" --no-defaults -u root <<'SQL'
ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
ALTER USER 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
fi

if root_over_tcp_works; then
  say "MariaDB is ready on $HOST:$PORT (root, empty password)"
else
  say "MariaDB runs, but root cannot log in over TCP on $HOST:$PORT; is skip-networking or another" \
      "bind-address set in /etc/mysql?" >&2
  exit 1
fi

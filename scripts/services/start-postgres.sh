#!/usr/bin/env bash
# Adapted from the team recipe (shared/services); the project carries its own copy.
# Start a throw-away PostgreSQL cluster on 127.0.0.1 for tests.
#
# usage: start-postgres.sh DIR [PORT] [DB] [DBUSER] [DBPASS]
#   DIR     state dir (created; cluster in DIR/data, socket in DIR/run, log DIR/postgres.log)
#   PORT    TCP port on 127.0.0.1 (default 15432)
#   DB/DBUSER/DBPASS  database + owner role created (default app / app / app-pw)
# env:
#   PG_OS_USER  unix user that owns and runs the cluster when called as root (default postgres;
#               initdb and postgres refuse to run as root)
#   PG_DURABLE=1  keep fsync on (default: fsync/synchronous_commit/full_page_writes off = faster)
# needs: Debian's postgresql (apt-get install -y postgresql); binaries from /usr/lib/postgresql/N/bin
# prints: the URLs, the PID and the stop command.
set -euo pipefail

DIR=${1:?usage: $0 DIR [PORT] [DB] [DBUSER] [DBPASS]}
PORT=${2:-15432}
DB=${3:-app}
DBUSER=${4:-app}
DBPASS=${5:-app-pw}
OSUSER=${PG_OS_USER:-postgres}

# Debian keeps the server binaries off PATH; take the newest installed major version.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ]; then PGBIN=$(dirname "$(command -v initdb || echo /nonexistent/initdb)"); fi
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server not installed: apt-get install -y postgresql" >&2; exit 1; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
mkdir -p "$DIR/run"
if [ "$(id -u)" = 0 ]; then
  chown "$OSUSER" "$DIR" "$DIR/run"
  as_pg() { (cd "$DIR" && runuser -u "$OSUSER" -- "$@"); }
else
  as_pg() { (cd "$DIR" && "$@"); }
fi

if [ ! -s "$DIR/data/PG_VERSION" ]; then
  # --no-sync: skip fsync of the new cluster (seconds saved; fine for throw-away data)
  as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >"$DIR/initdb.log"
fi

OPTS="-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DIR/run"
if [ "${PG_DURABLE:-0}" != 1 ]; then
  OPTS="$OPTS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi

t0=$(date +%s.%N)
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -o "$OPTS" -w -t 60 start >/dev/null
t1=$(date +%s.%N)
PID=$(head -1 "$DIR/data/postmaster.pid")

# superuser over the unix socket (trust), app role with a password over TCP (scram)
psql_admin() { as_pg "$PGBIN/psql" -h "$DIR/run" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='$DBUSER'")" != 1 ]; then
  psql_admin -c "CREATE ROLE \"$DBUSER\" LOGIN PASSWORD '$DBPASS'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$DB'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE \"$DB\" OWNER \"$DBUSER\""
fi

echo "postgres $("$PGBIN/postgres" --version | awk '{print $3}') up in $(awk "BEGIN{printf \"%.2f\", $t1-$t0}") s (pg_ctl start -w), pid $PID"
echo "  sqlalchemy (psycopg 3): postgresql+psycopg://$DBUSER:$DBPASS@127.0.0.1:$PORT/$DB"
echo "  sqlalchemy (asyncpg):   postgresql+asyncpg://$DBUSER:$DBPASS@127.0.0.1:$PORT/$DB"
echo "  admin: psql -h $DIR/run -p $PORT -U postgres   (as root: runuser -u $OSUSER -- psql ...)"
echo "  log: $DIR/postgres.log"
echo "stop: kill -INT $PID   (fast shutdown; or: runuser -u $OSUSER -- $PGBIN/pg_ctl -D $DIR/data -m fast stop)"

#!/bin/sh
# Runs a command beside a throwaway PostgreSQL cluster: a temporary directory, a free port on 127.0.0.1,
# trust authentication, a database `threadlog`. The command finds it in THREADLOG_TEST_PG_URL; the cluster
# is stopped and deleted when the command ends, whether it passed or not.
# Usage: Tests/with-postgres.sh swift test --disable-xctest
#        PG_FSYNC=on Tests/with-postgres.sh COMMAND   (fsync stays on: durable commits, for benchmarks)
set -eu
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { echo "with-postgres: $PGBIN/initdb is missing (make deps installs postgresql-15)" >&2; exit 1; }

dir=$(mktemp -d /tmp/threadlog-pg.XXXXXX)
# initdb refuses to run as root: the cluster belongs to the postgres user then.
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as() { runuser -u postgres -- "$@"; }
else
    as() { "$@"; }
fi
cleanup() {
    as "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
# A throwaway cluster: durability is not what the tests measure, and many tests open stores at once.
# PG_FSYNC=on keeps fsync on, for the benchmarks of durable commits.
fsync=${PG_FSYNC:-off}
case $fsync in on|off) ;; *) echo "with-postgres: PG_FSYNC is on or off, not '$fsync'" >&2; exit 2 ;; esac
as "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=400" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
as "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE DATABASE threadlog" postgres >/dev/null

export THREADLOG_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/threadlog"
status=0
"$@" || status=$?
exit $status

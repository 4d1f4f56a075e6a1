#!/usr/bin/env bash
# The peer benchmarks (make bench-peers): eventsourcing on SQLite and PostgreSQL 15 on the workload of
# `threadlog-bench log`, each figure printed as a ratio against Threadlog's figure of the same run.
# Usage: Benchmarks/peers/bench.sh [FIGURES]
#   FIGURES: the `name value` lines that threadlog-bench and http-bench.sh wrote in this run (make bench
#   passes them). Without it, `threadlog-bench log` runs first to measure the log's figures.
# PostgreSQL runs in the throwaway cluster of Tests/with-postgres.sh, restarted with fsync on.
# Environment: PEER_SECONDS (5, per write figure), PYTHON (.venv/bin/python), SWIFT, PEER_REPLAY_EVENTS (200000:
# eventsourcing's replay reads that many events, not the log's 1M, to keep the run short; rates compare).
set -euo pipefail

# A figures file named relative to the caller's directory.
if [ -n "${1:-}" ] && [ "$1" != "--inside" ]; then set -- "$(realpath "$1")"; fi
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SWIFT=${SWIFT:-swift}

# Inside Tests/with-postgres.sh: that cluster runs with fsync=off (the tests do not measure
# durability), so it is restarted with fsync on, its other settings unchanged, before the peers run.
if [ "${1:-}" = "--inside" ]; then
    figures=$2
    if [ "$(id -u)" = 0 ]; then as() { runuser -u postgres -- "$@"; }; else as() { "$@"; }; fi
    url=$THREADLOG_TEST_PG_URL
    data=$("$PGBIN/psql" "$url" -Atc "SHOW data_directory")
    port=$("$PGBIN/psql" "$url" -Atc "SHOW port")
    sockets=$(dirname "$data")
    as "$PGBIN/pg_ctl" -D "$data" -l "$sockets/server.log" -m fast -w -t 60 restart \
        -o "-p $port -k $sockets -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=400" >/dev/null
    exec "$PYTHON" Benchmarks/peers/peers.py --figures "$figures" --pg-url "$url"
fi

"$PYTHON" -c "import eventsourcing, psycopg" 2>/dev/null ||
    { echo "peers: $PYTHON lacks eventsourcing or psycopg (make bench-peers installs them)" >&2; exit 1; }

FIGURES=${1:-}
if [ -z "$FIGURES" ]; then
    FIGURES=$(mktemp /tmp/threadlog-figures.XXXXXX)
    trap 'rm -f "$FIGURES"' EXIT
    "$SWIFT" build -c release --product threadlog-bench >&2
    THREADLOG_BENCH_FIGURES=$FIGURES "$SWIFT" run -c release threadlog-bench log
    echo ""
fi
./Tests/with-postgres.sh Benchmarks/peers/bench.sh --inside "$FIGURES"

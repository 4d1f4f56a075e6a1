#!/usr/bin/env bash
# Delivery benchmark: a release `threadlog serve` on a temporary data directory, filled with EVENTS
# message posts, then events/s to a consumer group of three and to a webhook next to the raw SSE tail
# (Benchmarks/delivery-bench.py). Environment: EVENTS (20000), SCRATCH (.build), BIN (a built threadlog
# to use instead of building one).
set -euo pipefail

cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-20000}
SCRATCH=${SCRATCH:-.build}
ADMIN=bench-admin-token
if [ -z "${BIN:-}" ]; then
    swift build -c release --scratch-path "$SCRATCH" --product threadlog >&2
    BIN="$SCRATCH/release/threadlog"
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

THREADLOG_ADMIN_TOKEN=$ADMIN LOG_LEVEL=warning "$BIN" serve --data "$WORK/data" --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 200); do
    grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
    sleep 0.05
done
URL=$(grep -o "http://[0-9.]*:[0-9]*" "$WORK/serve.out" | head -1)
[ -n "$URL" ] || { echo "delivery-bench: the server did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }
python3 Benchmarks/delivery-bench.py "$URL" "$ADMIN" "$EVENTS"

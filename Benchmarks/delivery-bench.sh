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

NAME=delivery-bench
# shellcheck source=Benchmarks/start-serve.sh
. Benchmarks/start-serve.sh
python3 Benchmarks/delivery-bench.py "$URL" "$ADMIN" "$EVENTS"

# Sourced by the HTTP benchmarks. Starts "$BIN" serve on a temporary data directory ($WORK/data) with the
# admin token $ADMIN on a free port; sets WORK, SERVER_PID and URL; on exit stops the server and removes
# $WORK. $NAME names the benchmark in its one line of failure. With STORE set (a PostgreSQL URL), the
# log is there and $WORK/data holds the node's views.
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

THREADLOG_ADMIN_TOKEN=$ADMIN LOG_LEVEL=warning "$BIN" serve --data "$WORK/data" ${STORE:+--store "$STORE"} --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 200); do
    grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
    sleep 0.05
done
URL=$(grep -o "http://[0-9.]*:[0-9]*" "$WORK/serve.out" | head -1)
[ -n "$URL" ] || { echo "$NAME: the server did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }

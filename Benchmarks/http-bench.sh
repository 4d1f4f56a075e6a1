#!/usr/bin/env bash
# HTTP benchmark: message posts against the liveness route on the same server in the same run.
# Builds release, starts `threadlog serve` on a temporary data directory, creates a party, a user and
# THREADS threads with curl, then runs ROUNDS rounds of wrk (posting to many threads, then GET
# /healthz) with CONNECTIONS connections for DURATION each and prints each round's posts/s, p50/p99 and
# ratio to /healthz, their median ratio, then the server's CPU time per post and per /healthz request,
# by thread.
# Then a mixed round: posts and consistent reads (inbox, unread, two thread views: each waits for the
# log's head as of its arrival) at the same time, about four reads per post over CONNECTIONS connections,
# printing the reads' p50/p99 and the post rate next to the posts-only rate.
# Environment: DURATION (10s), ROUNDS (3), CONNECTIONS (64), THREADS (256), WRK_THREADS (2), SCRATCH (.build);
# STORE: a PostgreSQL URL for the log (the node's views stay in its temporary data directory);
# THREADLOG_BENCH_FIGURES: a file to append the posts' median rate to (`http_posts N`), for make bench-peers.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-256}
WRK_THREADS=${WRK_THREADS:-2}
SCRATCH=${SCRATCH:-.build}
ADMIN=bench-admin-token

command -v wrk >/dev/null || { echo "http-bench: wrk is not installed (make bench-deps)" >&2; exit 1; }
command -v curl >/dev/null || { echo "http-bench: curl is not installed" >&2; exit 1; }

swift build -c release --scratch-path "$SCRATCH" --product threadlog >&2
BIN="$SCRATCH/release/threadlog"

NAME=http-bench
# shellcheck source=Benchmarks/start-serve.sh
. Benchmarks/start-serve.sh

post() { curl -sf -X POST -H "Authorization: Bearer $1" -H "Content-Type: application/json" "$URL$2" -d "$3"; }
post "$ADMIN" /v1/parties '{"id":"acme","name":"Acme","kind":"internal"}' >/dev/null
post "$ADMIN" /v1/parties '{"id":"sup","name":"Supplier","kind":"external"}' >/dev/null
post "$ADMIN" /v1/users '{"id":"ann","name":"Ann","email":"ann@acme.test","party":"acme","roles":["handler"]}' >/dev/null
TOKEN=$(post "$ADMIN" /v1/users '{"id":"bob","name":"Bob","email":"bob@sup.test","party":"sup","roles":["supplier"]}' |
    sed -E 's/.*"token":"([0-9a-f]+)".*/\1/')

{
    echo "local threads = {"
    for i in $(seq 1 "$THREADS"); do
        id=$(post "$TOKEN" /v1/threads "{\"subject\":{\"kind\":\"request\",\"ref\":\"B-$i\"},\"title\":\"Bench $i\"}" |
            sed -E 's/.*"id":"([^"]+)".*/\1/')
        echo "  \"$id\","
    done
    echo "}"
    # Requests are formatted once per wrk thread (four bodies per thread id) and then cycled, so the
    # load generator spends its CPU on sending, not on building strings in Lua.
    cat <<LUA
local token = "$TOKEN"
local requests = {}
local counter = 0
setup = function(thread)
    thread:set("offset", math.random(1, #threads))
end
init = function(args)
    counter = tonumber(offset) or 0
    local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    for round = 1, 4 do
        for index, id in ipairs(threads) do
            requests[#requests + 1] = wrk.format("POST", "/v1/threads/" .. id .. "/messages", headers,
                '{"body":"benchmark message ' .. round .. '-' .. index .. '"}')
        end
    end
end
request = function()
    counter = counter + 1
    return requests[(counter % #requests) + 1]
end
LUA
} >"$WORK/post.lua"

# Quiet threads for the mixed round's thread views (no posts go there, so a view stays small).
READ_THREADS=""
for i in $(seq 1 16); do
    id=$(post "$TOKEN" /v1/threads "{\"subject\":{\"kind\":\"request\",\"ref\":\"Q-$i\"},\"title\":\"Quiet $i\",\"body\":\"hello\"}" |
        sed -E 's/.*"id":"([^"]+)".*/\1/')
    READ_THREADS="$READ_THREADS \"$id\","
done
cat >"$WORK/read.lua" <<LUA
local token = "$TOKEN"
local quiet = { $READ_THREADS }
local requests = {}
local counter = 0
init = function(args)
    local headers = { ["Authorization"] = "Bearer " .. token }
    for index, id in ipairs(quiet) do
        requests[#requests + 1] = wrk.format("GET", "/v1/inbox", headers)
        requests[#requests + 1] = wrk.format("GET", "/v1/unread", headers)
        requests[#requests + 1] = wrk.format("GET", "/v1/threads/" .. id, headers)
        requests[#requests + 1] = wrk.format("GET", "/v1/threads/" .. quiet[(index % #quiet) + 1], headers)
    end
end
request = function()
    counter = counter + 1
    return requests[(counter % #requests) + 1]
end
LUA

run_wrk() { wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@"; }
# The figures of one wrk report: requests/s, p50, p99 (as wrk prints them), non-2xx count.
figures() {
    awk '/Requests\/sec:/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         /Non-2xx or 3xx responses:/ {bad=$5}
         END {printf "%s %s %s %s\n", rps, p50, p99, (bad == "" ? 0 : bad)}' "$1"
}

# CPU time is less noisy than rates on a shared machine: each server thread's CPU ticks (name, ticks
# per line), taken before posting, after the projections caught up, and after /healthz.
thread_ticks() {
    for task in /proc/"$SERVER_PID"/task/*; do
        awk '{ line = $0; sub(/^[^(]*\(/, "", line); name = line; sub(/\).*$/, "", name); sub(/^.*\) /, "", line)
               split(line, f, " "); gsub(/ /, "_", name); print name, f[12] + f[13] }' "$task/stat" 2>/dev/null
    done
}
position() { curl -sf "$URL/healthz" | sed -E 's/.*"position":([0-9]+).*/\1/'; }

# Rounds alternate posting and /healthz, so that a slow spell of this shared machine weighs on both
# sides of a round's ratio; the median of the rounds' ratios is the figure.
TIMEFORMAT="%U %S"
lag() { curl -sf "$URL/metrics" | awk '/^threadlog_view_lag_events/ {v=$2+0; if (v>m) m=v} END {printf "%d\n", m}'; }
curl -sf "$URL/metrics" >"$WORK/metrics.0"
POSTED=0
CHECKS=0
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round: posting to $THREADS threads, then GET /healthz, with $CONNECTIONS connections for $DURATION each" >&2
    thread_ticks >"$WORK/ticks.$round.0"
    POSITION_BEFORE=$(position)
    # The load generator's own CPU time (user and system seconds), to show what the two cores gave it.
    { time run_wrk -s "$WORK/post.lua" "$URL/v1/threads" >"$WORK/posts.$round.txt"; } 2>"$WORK/posts.$round.time"
    # The projections (views and mail outbox) must keep up, not just the log: their largest lag when
    # the posting stops, and how long they take to reach the log's head from there.
    LAG_AT_END=$(lag)
    CATCHUP_START=$(date +%s%N)
    while [ "$(lag)" != "0" ]; do sleep 0.02; done
    CATCHUP_MS=$(( ($(date +%s%N) - CATCHUP_START) / 1000000 ))
    thread_ticks >"$WORK/ticks.$round.1"
    ROUND_POSTED=$(( $(position) - POSITION_BEFORE ))
    POSTED=$(( POSTED + ROUND_POSTED ))
    { time run_wrk "$URL/healthz" >"$WORK/health.$round.txt"; } 2>"$WORK/health.$round.time"
    thread_ticks >"$WORK/ticks.$round.2"
    CHECKS=$(( CHECKS + $(awk '/requests in/ {print $1}' "$WORK/health.$round.txt") ))

    read -r POST_RPS POST_P50 POST_P99 POST_BAD < <(figures "$WORK/posts.$round.txt")
    read -r HEALTH_RPS HEALTH_P50 HEALTH_P99 _ < <(figures "$WORK/health.$round.txt")
    RATIO=$(awk -v a="$POST_RPS" -v b="$HEALTH_RPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    echo "$RATIO" >>"$WORK/ratios"
    echo "round $round"
    printf "  posts:   %10s req/s   p50 %8s   p99 %8s   (non-2xx: %s)\n" "$POST_RPS" "$POST_P50" "$POST_P99" "$POST_BAD"
    printf "  healthz: %10s req/s   p50 %8s   p99 %8s\n" "$HEALTH_RPS" "$HEALTH_P50" "$HEALTH_P99"
    printf "  ratio posts/healthz: %s; projections: largest lag when posting stopped %s events, at the log's head %s ms later\n" \
        "$RATIO" "$LAG_AT_END" "$CATCHUP_MS"
    # The server's CPU per post in this round (all threads): it grows when some work grows with the log.
    awk -v posts="$ROUND_POSTED" -v hz="$(getconf CLK_TCK)" 'FILENAME ~ /\.0$/ { a += $2; next } { b += $2 }
        END { printf "  server CPU per post: %.1f us\n", (b - a) * 1000000 / hz / posts }' \
        "$WORK/ticks.$round.0" "$WORK/ticks.$round.1"
    if [ "$POST_BAD" != "0" ]; then
        echo "http-bench: $POST_BAD posts were refused" >&2
        exit 1
    fi
done
# The mixed round: one wrk posting, one reading, together; the split of connections aims at about four
# reads per post (a read costs less than a post).
MIXED_POST_CONNECTIONS=$(( CONNECTIONS / 8 > 0 ? CONNECTIONS / 8 : 1 ))
MIXED_READ_CONNECTIONS=$(( CONNECTIONS - MIXED_POST_CONNECTIONS > 0 ? CONNECTIONS - MIXED_POST_CONNECTIONS : 1 ))
echo "mixed round: posts on $MIXED_POST_CONNECTIONS connections and reads on $MIXED_READ_CONNECTIONS for $DURATION" >&2
wrk -t1 -c"$MIXED_POST_CONNECTIONS" -d"$DURATION" --latency -s "$WORK/post.lua" "$URL/v1/threads" >"$WORK/mixed.posts.txt" &
MIXED_POSTER=$!
wrk -t1 -c"$MIXED_READ_CONNECTIONS" -d"$DURATION" --latency -s "$WORK/read.lua" "$URL/v1/inbox" >"$WORK/mixed.reads.txt"
wait "$MIXED_POSTER"
read -r MIXED_POST_RPS MIXED_POST_P50 MIXED_POST_P99 MIXED_POST_BAD < <(figures "$WORK/mixed.posts.txt")
read -r MIXED_READ_RPS MIXED_READ_P50 MIXED_READ_P99 MIXED_READ_BAD < <(figures "$WORK/mixed.reads.txt")
POSTS_ONLY=$(for round in $(seq 1 "$ROUNDS"); do figures "$WORK/posts.$round.txt"; done | sort -n | awk '{r[NR] = $1} END { print r[int((NR + 1) / 2)] }')
# The posts-only median rate for the peer table of make bench (Benchmarks/peers), when asked for.
[ -z "${THREADLOG_BENCH_FIGURES:-}" ] || echo "http_posts $POSTS_ONLY" >>"$THREADLOG_BENCH_FIGURES"
echo "mixed round (reads wait for the log's head as of their arrival)"
printf "  reads:   %10s req/s   p50 %8s   p99 %8s   (non-2xx: %s; target p99 <= 20ms)\n" \
    "$MIXED_READ_RPS" "$MIXED_READ_P50" "$MIXED_READ_P99" "$MIXED_READ_BAD"
printf "  posts:   %10s req/s   p50 %8s   p99 %8s   (non-2xx: %s)\n" "$MIXED_POST_RPS" "$MIXED_POST_P50" "$MIXED_POST_P99" "$MIXED_POST_BAD"
awk -v r="$MIXED_READ_RPS" -v p="$MIXED_POST_RPS" -v only="$POSTS_ONLY" 'BEGIN {
    printf "  reads per post %.1f; mixed post rate / posts-only median rate %.2f\n", (p > 0 ? r / p : 0), (only > 0 ? p / only : 0) }'
if [ "$MIXED_READ_BAD" != "0" ] || [ "$MIXED_POST_BAD" != "0" ]; then
    echo "http-bench: the mixed round had refused requests" >&2
    exit 1
fi
curl -sf "$URL/metrics" >"$WORK/metrics.txt"
MEDIAN=$(sort -n "$WORK/ratios" | awk '{r[NR] = $1} END { print (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2) }')
printf "median ratio posts/healthz over %s rounds: %s (target >= 0.3); log position after the run: %s\n" \
    "$ROUNDS" "$MEDIAN" "$(position)"
# The server's own view of the posts: bucket bounds of its request histogram, and the slowest commit.
# wrk corrects its percentiles for coordinated omission (a stalled response counts as the requests
# its connection could not send meanwhile), so one slow fsync moves wrk's p99 far more than this.
awk '
    function seconds(line) { sub(/.*le="/, "", line); sub(/".*/, "", line); return line }
    function shown(s) { return s == "+Inf" ? "more than 10 s" : (s * 1000 " ms") }
    /^threadlog_http_request_duration_seconds_bucket\{route="\/v1\/threads\/\{id\}\/messages",method="POST"/ {
        n++; bound[n] = seconds($1); count[n] = $2 }
    /^threadlog_append_duration_seconds_bucket/ { if ($2 > last) slowest = seconds($1); last = $2 }
    END {
        total = count[n]
        for (i = 1; i <= n; i++) {
            if (p50 == "" && count[i] >= total * 0.5) p50 = bound[i]
            if (p99 == "" && count[i] >= total * 0.99) p99 = bound[i]
        }
        printf "server-side posts: p50 <= %s, p99 <= %s; slowest commit <= %s\n", shown(p50), shown(p99), shown(slowest)
    }' "$WORK/metrics.txt"
# Group commit: how many commits the posts took, and how many appends each carried on average.
awk '
    /^threadlog_log_group_commits / { c[FILENAME] = $2 }
    /^threadlog_log_group_appends / { a[FILENAME] = $2 }
    END {
        for (f in c) if (f ~ /metrics.0$/) { c0 = c[f]; a0 = a[f] } else { c1 = c[f]; a1 = a[f] }
        if (c1 > c0) printf "log: %d commits during the posts, %.1f appends each\n", c1 - c0, (a1 - a0) / (c1 - c0)
    }' "$WORK/metrics.0" "$WORK/metrics.txt"
# Server CPU per request by thread group over all rounds (clock ticks are 10 ms; the runs give
# thousands of them).
for round in $(seq 1 "$ROUNDS"); do
    awk 'FILENAME ~ /\.0$/ { a[$1] += $2; next } FILENAME ~ /\.1$/ { b[$1] += $2; next } { c[$1] += $2 }
        END { for (name in a) print name, b[name] - a[name], c[name] - b[name] }' \
        "$WORK/ticks.$round.0" "$WORK/ticks.$round.1" "$WORK/ticks.$round.2"
done >"$WORK/ticks"
awk -v posts="$POSTED" -v checks="$CHECKS" -v hz="$(getconf CLK_TCK)" '
    { post[$1] += $2; check[$1] += $3 }
    END {
        us = 1000000 / hz
        printf "server CPU per request (us):                post   healthz\n"
        for (name in post) {
            p1 = post[name] * us / posts; c1 = check[name] * us / checks
            if (p1 + c1 < 0.5) continue
            label = name
            if (name ~ /default-qos/) label = name " (request tasks)"
            if (name ~ /^NIO/) label = name " (sockets, HTTP)"
            if (name == "threadlog.log") label = name " (group commit)"
            if (name == "threadlog.views") label = name " (read models)"
            if (name == "threadlog.notif") label = name " (mail outbox)"
            printf "  %-38s %8.1f  %8.1f\n", label, p1, c1
            p += p1; c += c1
        }
        printf "  %-38s %8.1f  %8.1f   (CPU ratio healthz/post %.2f)\n", "all threads", p, c, (p > 0 ? c / p : 0)
    }' "$WORK/ticks"
# The last line of each `time` report: user and system seconds.
wrk_seconds() { for f in "$@"; do tail -1 "$f"; done | awk '{ s += $1 + $2 } END { print s }'; }
wrk_seconds "$WORK"/posts.*.time >"$WORK/wrk.posts"
wrk_seconds "$WORK"/health.*.time >"$WORK/wrk.health"
POST_REQUESTS=$(cat "$WORK"/posts.*.txt | awk '/requests in/ { n += $1 } END { print n }')
awk -v p="$(cat "$WORK/wrk.posts")" -v h="$(cat "$WORK/wrk.health")" -v posts="$POST_REQUESTS" -v checks="$CHECKS" 'BEGIN {
    printf "  %-38s %8.1f  %8.1f\n", "(wrk, the load generator)", p * 1e6 / posts, h * 1e6 / checks }'

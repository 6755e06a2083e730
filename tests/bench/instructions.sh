#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: a figure that,
# unlike throughput on a shared VM, does not move with the machine's speed or load, so
# it shows what a change to the request path costs or saves to within a few
# instructions. Not part of `cargo test`; kernel time is not counted (see PROFILE.md).
#
# usage: tests/bench/instructions.sh [SERVER_BIN ...]
#   each binary (default: target/release/server, built) serves www/ on one core and
#   answers N keep-alive `GET /HelloWorld.html` from 16 connections (tests/bench/nreq.py);
#   the figure is (instructions for 12,000 requests - for 2,000) / 10,000, so start-up and
#   shutdown cancel out.
# env: BENCH_PORT  the port used (default 18600)
#      BENCH_PATH  the path asked for (default /HelloWorld.html)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${BENCH_PORT:-18600}
URL_PATH=${BENCH_PATH:-/HelloWorld.html}
for tool in valgrind callgrind_annotate python3 curl taskset; do
    command -v "$tool" >/dev/null || { echo "instructions.sh: $tool not found (Debian: valgrind python3 curl util-linux)" >&2; exit 1; }
done
if [[ $# -eq 0 ]]; then
    (cd "$REPO" && cargo build --release -p server --quiet)
    set -- "$REPO/target/release/server"
fi
WORK=$(mktemp -d)
trap 'pkill -f "valgrind.*--port $PORT " 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Total instructions the server executes while answering $2 requests.
count() {
    local bin=$1 n=$2
    rm -f "$WORK"/cg.*
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" \
        "$bin" --port "$PORT" --bind 127.0.0.1 --quiet --root "$REPO/www" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
        sleep 0.2
    done
    python3 "$REPO/tests/bench/nreq.py" "$PORT" "$n" 16 "$URL_PATH"
    kill -INT "$pid"
    wait "$pid" || true
    callgrind_annotate "$WORK"/cg.* 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); total += $1 } END { print total }'
}

for bin in "$@"; do
    few=$(count "$bin" 2000)
    many=$(count "$bin" 12000)
    echo "$bin: $(( (many - few) / 10000 )) instructions per request ($URL_PATH)"
done

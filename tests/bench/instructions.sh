#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: a figure that,
# unlike throughput on a shared VM, does not move with the machine's speed or load, so
# it shows what a change to the request path costs or saves to within a few
# instructions. Not part of `cargo test`; kernel time is not counted (see PROFILE.md).
#
# usage: tests/bench/instructions.sh [SERVER_BIN ...]
#   each of our binaries (default: target/release/server, built), then nginx and
#   lighttpd with the benchmark's configurations (tests/bench/*.conf.in: one process, no
#   access log), serves www/ on one core and answers N keep-alive `GET /HelloWorld.html`
#   from 16 connections (tests/bench/nreq.py). The figure is (instructions for 12,000
#   requests - for 2,000) / 10,000, so start-up and shutdown cancel out. A server that
#   is not installed is left out with a line saying so.
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
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export PATH=$PATH:/usr/sbin:/sbin
BENCH=$REPO/tests/bench
mkdir -p "$WORK/nginx-tmp/body" "$WORK/nginx-tmp/proxy"
sed -e "s|@MASTER@|off|; s|@WORKERS@|1|; s|@NOFILE@|4096|; s|@CONNS@|2000|; s|@SSL@||; s|@TLS@||" \
    -e "s|@TMP@|$WORK|g; s|@PORT@|$PORT|g; s|@ROOT@|$REPO/www|g" "$BENCH/nginx.conf.in" >"$WORK/nginx.conf"
sed -e "s|@NOFILE@|4096|; s|@MAXCONN@|2000|; s|@TMP@|$WORK|g; s|@PORT@|$PORT|g; s|@ROOT@|$REPO/www|" \
    "$BENCH/lighttpd.conf.in" >"$WORK/lighttpd.conf"

# Total instructions the server started by "$@" executes while answering $N requests.
count() {
    rm -f "$WORK"/cg.*
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" \
        "$@" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
        sleep 0.2
    done
    python3 "$BENCH/nreq.py" "$PORT" "$N" 16 "$URL_PATH"
    kill -INT "$pid"
    wait "$pid" || true
    callgrind_annotate "$WORK"/cg.* 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); total += $1 } END { print total }'
}

# Prints the figure for the server that "$@" starts, named $1 in the line.
per_request() {
    local name=$1 few many
    shift
    few=$(N=2000 count "$@")
    many=$(N=12000 count "$@")
    echo "$name: $(( (many - few) / 10000 )) instructions per request ($URL_PATH)"
}

for bin in "$@"; do
    per_request "$bin" "$bin" --port "$PORT" --bind 127.0.0.1 --quiet --root "$REPO/www"
done
if command -v nginx >/dev/null; then
    per_request nginx nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
else
    echo "nginx: not installed, left out"
fi
if command -v lighttpd >/dev/null; then
    per_request lighttpd lighttpd -D -f "$WORK/lighttpd.conf"
else
    echo "lighttpd: not installed, left out"
fi

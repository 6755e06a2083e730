#!/usr/bin/env bash
# HTTP/2 over TLS: our `server` against nginx (`listen ... ssl http2`, the same
# certificate, TLS 1.3), measured with h2load from Debian's nghttp2-client, side by side
# on loopback. Not part of `cargo test`; prints a Markdown table for docs/BENCHMARKS.md.
#
# usage: tests/bench/h2load.sh [--quick]
#   --quick   1 run of 3 s per workload (a smoke test); default: 3 runs of 10 s, median
# env: BENCH_PORT        first of the 2 ports used (default 18500)
#      BENCH_SERVER_BIN  use this server binary instead of building target/release/server
#
# Workloads (as issue 13 names them):
#   small   one small file, 64 connections x 10 concurrent streams
#   page    a page of 30 small files per connection, 64 connections x 30 streams
#   big     a 1 MiB file, 4 connections x 4 streams (MB/s)
# The server is pinned to CPU 0 and h2load to CPU 1. Every process started is stopped.
set -euo pipefail

RUNS=3 DURATION=10
case "${1:-}" in
    --quick) RUNS=1 DURATION=3 ;;
    "") ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BASE_PORT=${BENCH_PORT:-18500}
export PATH=$PATH:/usr/sbin:/sbin
for tool in h2load nginx openssl taskset curl; do
    command -v "$tool" >/dev/null || { echo "h2load.sh: $tool not found (Debian: nghttp2-client nginx-light openssl util-linux curl)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/h2bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n ${BENCH_SERVER_BIN:-} ]]; then
    OURS=$BENCH_SERVER_BIN
else
    (cd "$REPO" && cargo build --release -p server --quiet)
    OURS=$REPO/target/release/server
fi

# One certificate for both servers (P-256, as a CA would issue for a site).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
chmod 644 "$TMP/key.pem"

WWW=$TMP/www
mkdir -p "$WWW" "$TMP/nginx-tmp"
cp "$REPO/www/HelloWorld.html" "$WWW/"
for i in $(seq 1 30); do cp "$REPO/www/logo.svg" "$WWW/img$i.svg"; done
head -c 1048576 /dev/urandom >"$WWW/big.bin"
chmod 755 "$WWW" && chmod 644 "$WWW"/*

OURS_PORT=$BASE_PORT NGINX_PORT=$((BASE_PORT + 1))
cat >"$TMP/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; use epoll; }
http {
    types { text/html html; image/svg+xml svg; application/octet-stream bin; }
    default_type application/octet-stream;
    charset utf-8;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=1000 inactive=20s;
    # h2load does not reconnect after a GOAWAY: a per-connection cap would end the run
    # early and cap the figure (64 x 10,000 / 10 s), so neither server has one here.
    keepalive_requests 1000000;
    keepalive_timeout 30s;
    client_body_temp_path $TMP/nginx-tmp/body;
    proxy_temp_path $TMP/nginx-tmp/proxy;
    fastcgi_temp_path $TMP/nginx-tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx-tmp/uwsgi;
    scgi_temp_path $TMP/nginx-tmp/scgi;
    ssl_protocols TLSv1.3;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        root $WWW;
    }
}
CONF

start() { # name port command...
    local name=$1 port=$2 i
    shift 2
    taskset -c 0 "$@" >"$TMP/$name.out" 2>&1 &
    PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        curl -sk --http2 -o /dev/null "https://127.0.0.1:$port/HelloWorld.html" && return 0
        sleep 0.05
    done
    echo "h2load.sh: $name did not start:" >&2
    cat "$TMP/$name.out" >&2
    exit 1
}
start ours "$OURS_PORT" "$OURS" --bind 127.0.0.1 --port "$OURS_PORT" --root "$WWW" --quiet \
    --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" --shutdown-grace 1 --max-requests 1000000
start nginx "$NGINX_PORT" nginx -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf"

# run PORT CONNS STREAMS URI...: one h2load run; prints "req/s MB/s failed".
run() {
    local port=$1 c=$2 m=$3 out
    shift 3
    local uris=()
    for u in "$@"; do uris+=("https://localhost:$port$u"); done
    out=$(taskset -c 1 h2load -D "$DURATION" -c "$c" -m "$m" "${uris[@]}" 2>&1)
    # "finished in 10.00s, 24100.25 req/s, 11.43MB/s"
    awk '/^finished in/ {gsub(",", ""); rps = $4; bw = $6 + 0; unit = $6; sub(/^[0-9.]+/, "", unit)}
         /^requests:/ {failed = $10 + $12}
         END {mb = bw; if (unit ~ /^KB/) mb = bw / 1024; if (unit ~ /^GB/) mb = bw * 1024;
              if (unit ~ /^B/) mb = bw / 1048576; printf "%s %.1f %d\n", rps, mb, failed}' <<<"$out"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

PAGE=()
for i in $(seq 1 30); do PAGE+=("/img$i.svg"); done
declare -A RESULT
for workload in small page big; do
    for name in ours nginx; do
        port=$OURS_PORT
        [[ $name == nginx ]] && port=$NGINX_PORT
        : >"$TMP/$workload-$name"
        for ((r = 0; r < RUNS; r++)); do
            case $workload in
            small) line=$(run "$port" 64 10 /HelloWorld.html) ;;
            page) line=$(run "$port" 64 30 "${PAGE[@]}") ;;
            big) line=$(run "$port" 4 4 /big.bin) ;;
            esac
            echo "$line" >>"$TMP/$workload-$name"
            echo "[h2load] $workload $name run $((r + 1)): $line (req/s MB/s failed)" >&2
        done
        col=1
        [[ $workload == big ]] && col=2
        RESULT[$workload-$name]=$(cut -d' ' -f"$col" "$TMP/$workload-$name" | median)
    done
done

echo "| workload (h2load, TLS 1.3, server on 1 core) | ours | nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') | ours / nginx |"
echo "| --- | --- | --- | --- |"
for workload in small page big; do
    case $workload in
    small) label="small file, 64 conns x 10 streams (req/s)" ;;
    page) label="page of 30 small files, 64 conns x 30 streams (req/s)" ;;
    big) label="1 MiB file, 4 conns x 4 streams (MB/s)" ;;
    esac
    o=${RESULT[$workload-ours]} n=${RESULT[$workload-nginx]}
    echo "| $label | $o | $n | $(awk -v o="$o" -v n="$n" 'BEGIN {printf "%.2fx", (n > 0) ? o / n : 0}') |"
done
echo
echo "Medians of $RUNS runs of ${DURATION}s; $(nproc) cores; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)."

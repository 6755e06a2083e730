#!/usr/bin/env bash
# Soak: the release server under a mixed load for a bounded time, reporting requests
# served, errors and the server's memory. Not part of `cargo test`.
#
#   tests/soak/soak.sh [SECONDS] [OUT.md]
#
# SECONDS (default 60) is the length of the load. The load: wrk (mix.lua: small files,
# an 8 MiB file, 404s, a traversal attempt, single, multipart and suffix ranges, and
# If-None-Match with the ETag fetched first with curl), plus slow clients
# (slow_clients.py: heads trickled a byte every 0.5 s, and readers of the big file
# through a 4 KiB receive buffer). The report goes to stdout, and to OUT.md if given.
# Exit status 1 if RSS grew more than 20% after warm-up, a status other than
# 200/206/304/400/404 came back, or the server died.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/tests/soak"
secs="${1:-60}"
outfile="${2:-}"
conns=32
threads=2
growth_limit_pct=20

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool: not installed" >&2; exit 2; }
done

work="$(mktemp -d)"
server_pid=""
slow_pid=""
cleanup() {
    [ -n "$slow_pid" ] && kill "$slow_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The binary under test ($bin) and its label ($label).
. "$repo/tests/lib/server_bin.sh"

root="$work/root"
mkdir -p "$root/sub"
printf '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head><body><h1>Hello, World!</h1></body></html>\n' >"$root/index.html"
printf 'body { color: black; }\n' >"$root/style.css"
head -c 3000 /dev/urandom | base64 >"$root/a.txt"
printf 'sub file\n' >"$root/sub/b.txt"
printf '<p>sub index</p>\n' >"$root/sub/index.html"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$root/big.bin"

# Access log on (as in production) but thrown away.
"$bin" --bind 127.0.0.1 --port 0 --root "$root" \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 100); do
    port=$(head -1 "$work/server.out" | sed -n 's#.*http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p')
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "server did not start: $(cat "$work/server.err")" >&2; exit 1; }
# From here on only the first line was needed; stop the log from filling the disk.
: >"$work/server.out"

rss() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$server_pid/fd" 2>/dev/null | wc -l; }

etag=$(curl -sI "http://127.0.0.1:$port/index.html" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
[ -n "$etag" ] || { echo "no ETag on /index.html" >&2; exit 1; }
check304=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://127.0.0.1:$port/index.html")

rss_idle=$(rss)
fds_idle=$(fds)
started=$(date +%s)

python3 "$here/slow_clients.py" "$port" "$secs" 8 4 >"$work/slow.txt" 2>&1 &
slow_pid=$!
ETAG="$etag" timeout $((secs + 30)) wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 5s \
    -s "$here/mix.lua" "http://127.0.0.1:$port/" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!

# Sample memory once a second while the load runs: warm-up is the first 10% (at least 5 s).
warm=$(( secs / 10 > 5 ? secs / 10 : 5 ))
: >"$work/samples.txt"
while kill -0 "$wrk_pid" 2>/dev/null; do
    echo "$(( $(date +%s) - started )) $(rss) $(fds)" >>"$work/samples.txt"
    sleep 1
done
wait "$wrk_pid" || true
wait "$slow_pid" || true
slow_pid=""
sleep 2
rss_after=$(rss)
fds_after=$(fds)
alive=yes
kill -0 "$server_pid" 2>/dev/null || alive="NO"

# RSS after warm-up, in the middle and at the end of the load (KiB).
at() { awk -v t="$1" '$1 >= t { print $2; exit }' "$work/samples.txt"; }
rss_warm=$(at "$warm")
rss_mid=$(at $(( secs / 2 )))
rss_end=$(tail -1 "$work/samples.txt" | awk '{print $2}')
rss_peak=$(awk 'BEGIN{m=0} $2>m{m=$2} END{print m}' "$work/samples.txt")
fds_peak=$(awk 'BEGIN{m=0} $3>m{m=$3} END{print m}' "$work/samples.txt")
growth=$(awk -v a="${rss_warm:-0}" -v b="${rss_end:-0}" 'BEGIN { if (a > 0) printf "%.1f", (b - a) * 100 / a; else print "nan" }')

statuses=$(grep '^STATUS' "$work/wrk.txt" || true)
socket=$(grep '^SOCKET' "$work/wrk.txt" | sed 's/^SOCKET //')
total=$(grep '^TOTAL' "$work/wrk.txt" | sed 's/^TOTAL //')
latency=$(grep '^LATENCY' "$work/wrk.txt" | sed 's/^LATENCY //')
expected=$(echo "$statuses" | awk '$2 ~ /^(200|206|304|400|404)$/ { s += $3 } END { print s + 0 }')
unexpected=$(echo "$statuses" | awk '$2 !~ /^(200|206|304|400|404)$/ && NF { s += $3 } END { print s + 0 }')
non_2xx_3xx=$(echo "$statuses" | awk '$2 >= 400 { s += $3 } END { print s + 0 }')
socket_errors=$(echo "$socket" | tr ' ' '\n' | grep -v '^status' | awk -F= '{ s += $2 } END { print s + 0 }')

verdict=ok
problems=()
if [ "$alive" != yes ]; then problems+=("server died"); fi
if [ "$unexpected" -gt 0 ]; then problems+=("$unexpected unexpected statuses"); fi
if awk -v g="$growth" -v l="$growth_limit_pct" 'BEGIN { exit !(g > l) }'; then
    problems+=("RSS grew ${growth}% after warm-up (limit ${growth_limit_pct}%)")
fi
[ ${#problems[@]} -eq 0 ] || verdict="FLAGGED: $(IFS=';'; echo "${problems[*]}")"

report() {
    echo "## Soak run, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "\`tests/soak/soak.sh $secs\` on $(nproc) cores ($(uname -sr)); wrk -t$threads -c$conns, ${secs} s,"
    echo "with 8 trickling and 4 slow-reading clients alongside. Server: release build of $label, defaults."
    echo
    echo "| | value |"
    echo "| --- | --- |"
    echo "| wrk | $total |"
    echo "| latency | $latency |"
    echo "| statuses | $(echo "$statuses" | awk 'NF { printf "%s%s: %s", sep, $2, $3; sep = ", " }') |"
    echo "| expected statuses (200/206/304/400/404) | $expected |"
    echo "| 4xx/5xx (the 400/404s are intended) | $non_2xx_3xx |"
    echo "| unexpected statuses | $unexpected |"
    echo "| socket errors | $socket_errors ($socket) |"
    echo "| slow clients | $(sed -n 's/^SLOW //p' "$work/slow.txt") |"
    echo "| conditional check before the load | If-None-Match $etag gave $check304 |"
    echo "| RSS idle before load | $rss_idle KiB ($fds_idle fds) |"
    echo "| RSS after warm-up (${warm} s) | ${rss_warm:-?} KiB |"
    echo "| RSS middle ($(( secs / 2 )) s) | ${rss_mid:-?} KiB |"
    echo "| RSS end of load | ${rss_end:-?} KiB (growth after warm-up ${growth}%) |"
    echo "| RSS peak | $rss_peak KiB ($fds_peak fds peak) |"
    echo "| RSS 2 s after load | $rss_after KiB ($fds_after fds) |"
    echo "| server alive | $alive |"
    echo "| verdict | $verdict |"
    echo
    echo "RSS samples (seconds, KiB, fds), one per second:"
    echo
    echo '```text'
    awk '{ printf "%s%s:%s/%s", sep, $1, $2, $3; sep = (NR % 8 == 0) ? "\n" : "  " } END { print "" }' "$work/samples.txt"
    echo '```'
}
report
if [ -n "$outfile" ]; then report >>"$outfile"; fi
[ "$verdict" = ok ]

#!/usr/bin/env bash
# Runs slowhttptest (Debian package `slowhttptest`) against the release server in its
# slowloris (-H), slow-body (-B) and slow-read (-X) modes while a normal client (curl in a
# loop) keeps asking for a page, and writes the figures as Markdown.
#
#   tests/attack/slowhttptest.sh [OUT.md] [SECONDS] [CONNECTIONS]
#
# OUT.md defaults to docs/SLOWHTTPTEST.md; SECONDS (default 30) is each attack's length;
# CONNECTIONS (default 1000) the attack connections. Each mode runs twice: with the
# default connection cap (derived from the file limit) and with --max-connections below
# the attack size, to show what the cap means. Everything is on 127.0.0.1, every step is
# bounded by `timeout`, and the server and probe are stopped on exit.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$repo/docs/SLOWHTTPTEST.md}"
secs="${2:-30}"
conns="${3:-1000}"
small_cap=256

command -v slowhttptest >/dev/null || { echo "slowhttptest: not installed (apt-get install slowhttptest)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl: not installed" >&2; exit 2; }

work="$(mktemp -d)"
server_pid=""
probe_pid=""
cleanup() {
    [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The binary under test ($bin) and its label ($label).
. "$repo/tests/lib/server_bin.sh"

# The site: a small page for the probe and slowloris, a 1 MiB file for slow read.
mkdir -p "$work/root"
printf '<!DOCTYPE html><html><body><h1>Hello, World!</h1></body></html>\n' >"$work/root/index.html"
head -c $((1024 * 1024)) /dev/urandom >"$work/root/big.bin"

# The attack holds CONNECTIONS sockets on each side; make sure we may open them.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Starts the server with extra flags; sets server_pid and port.
start_server() {
    : >"$work/server.out"
    "$bin" --bind 127.0.0.1 --port 0 --root "$work/root" --quiet "$@" \
        >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's#.*http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$work/server.out" | head -1)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "server did not start: $(cat "$work/server.err")" >&2
    exit 1
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# Probe: one fresh curl connection every 0.25 s; each line "http_code seconds".
# Also samples the server's open descriptors and RSS.
start_probe() {
    : >"$work/probe.txt"
    : >"$work/fds.txt"
    (
        end=$((SECONDS + secs + 5))
        while [ $SECONDS -lt $end ]; do
            curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' \
                "http://127.0.0.1:$port/index.html" >>"$work/probe.txt" || echo "000 5" >>"$work/probe.txt"
            fds=$(ls "/proc/$server_pid/fd" 2>/dev/null | wc -l)
            rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
            echo "$fds $rss" >>"$work/fds.txt"
            sleep 0.25
        done
    ) &
    probe_pid=$!
}

stop_probe() {
    kill "$probe_pid" 2>/dev/null || true
    wait "$probe_pid" 2>/dev/null || true
    probe_pid=""
}

# Summarises the probe: requests, failures (not 200 or over 5 s), median, p99, max seconds.
probe_summary() {
    sort -k2 -g "$work/probe.txt" | awk '
        { n++; t[n] = $2; if ($1 != "200") bad++ }
        END {
            if (n == 0) { print "0 | 0 | - | - | -"; exit }
            p99 = int(n * 0.99); if (p99 < 1) p99 = 1;
            printf "%d | %d | %.1f ms | %.1f ms | %.1f ms\n", n, bad, t[int((n + 1) / 2)] * 1000, t[p99] * 1000, t[n] * 1000
        }'
}

# The server's peak open descriptors and RSS during the attack.
server_peak() {
    awk 'BEGIN { f = 0; r = 0 } { if ($1 > f) f = $1; if ($2 > r) r = $2 } END { printf "%d fds, %d KiB RSS\n", f, r }' "$work/fds.txt"
}

# slowhttptest's last status block on one line, plus how the test ended.
last_status() {
    sed 's/\x1b\[[0-9;]*m//g; s/\x1b\[H//g' "$1" | awk '
        /slow HTTP test status on/ { sec = $6; block = "" }
        /^(initializing|pending|connected|error|closed|service available):/ {
            line = $0; sub(/: */, " ", line); block = block (block == "" ? "" : ", ") line
        }
        /Test ended on/ { ended = $0 }
        /Exit status:/ { sub(/.*Exit status: */, ""); exit_status = $0 }
        END { printf "last status (%s second): %s; %s (%s)", sec, block, ended, exit_status }'
}

# From the CSV (seconds,closed,pending,connected,service available): peak connected and
# how many one-second samples saw the service unavailable.
csv_summary() {
    awk -F, 'NR > 1 { if ($4 > c) c = $4; n++; if ($5 == 0) down++ }
             END { printf "peak connected %d; service unavailable in %d of %d samples\n", c, down, n }' "$1"
}

declare -A mode_flags=(
    [slowloris]="-H -i 5 -x 24"
    [slow-body]="-B -i 5 -s 65536 -x 24"
    [slow-read]="-X -k 8 -n 2 -w 16 -y 64 -z 16"
)
declare -A mode_url=(
    [slowloris]="/index.html"
    [slow-body]="/index.html"
    [slow-read]="/big.bin"
)

rows=()
details=()
run_case() {
    local mode="$1" cap="$2"
    shift 2
    start_server "$@"
    start_probe
    sleep 1
    local prefix="$work/$mode-${cap//[^a-z0-9]/_}"
    # -p 3: slowhttptest's own probe calls the service unavailable after 3 s without a reply.
    # shellcheck disable=SC2086
    timeout $((secs + 60)) slowhttptest ${mode_flags[$mode]} -c "$conns" -r 200 -l "$secs" \
        -p 3 -g -o "$prefix" -u "http://127.0.0.1:$port${mode_url[$mode]}" \
        >"$prefix.log" 2>&1 || true
    sleep 2
    stop_probe
    local status csv alive="yes"
    kill -0 "$server_pid" 2>/dev/null || alive="NO (crashed)"
    status="$(last_status "$prefix.log")"
    csv="$( [ -f "$prefix.csv" ] && csv_summary "$prefix.csv" || echo "no CSV")"
    rows+=("| $mode | $cap | $(probe_summary) | $(server_peak) | $alive |")
    details+=("- **$mode, $cap**: ${status:-no status line}; $csv")
    stop_server
    echo "$mode ($cap): $(probe_summary)" >&2
}

for mode in slowloris slow-body slow-read; do
    run_case "$mode" "default cap"
    run_case "$mode" "--max-connections $small_cap" --max-connections "$small_cap"
done

# Direct checks with one socket each, timing what the server does to a trickling peer:
# a head sent a byte a second, and a POST body sent 4 bytes a second after its head.
start_server
direct=$(timeout 60 python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])

def trickle(first, piece, label):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1)
    t0 = time.monotonic()
    reply = b""
    s.sendall(first)
    while time.monotonic() - t0 < 40:
        try:
            s.sendall(piece)
        except OSError:
            break
        try:
            d = s.recv(4096)
            if not d:
                break
            reply += d
        except socket.timeout:
            pass
        except OSError:
            break
    status = reply.split(b"\r\n", 1)[0].decode("latin-1") or "no reply"
    print(f"- {label}: first reply `{status}`, closed by the server after "
          f"{time.monotonic() - t0:.1f} s")

trickle(b"G", b"E", "head trickled one byte a second (slowloris)")
trickle(b"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n", b"a=b&",
        "POST body of 64 KiB trickled 4 bytes a second (slow body)")
PY
)
stop_server

# Keep the hand-written reading of the figures (everything from the marker on) when
# rewriting the report.
marker="<!-- analysis: kept when the script rewrites the figures above -->"
analysis=""
if [ -f "$out" ] && grep -qF "$marker" "$out"; then
    analysis="$(awk -v m="$marker" 'index($0, m) { p = 1 } p' "$out")"
fi
{
    echo "# slowhttptest against the server"
    echo
    echo "Recorded by \`tests/attack/slowhttptest.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(nproc) cores ($(uname -sr)), $(slowhttptest -h 2>&1 | grep -o 'version [0-9.]*' | head -1) of slowhttptest."
    echo "Server: release build of $label, default timeouts (head 10 s from the first byte, keep-alive"
    echo "30 s, send 30 s without progress), \`--quiet\`. Each attack: $conns connections"
    echo "opened at 200/s for $secs s. Flags per mode:"
    echo
    for mode in slowloris slow-body slow-read; do
        echo "- $mode: \`slowhttptest ${mode_flags[$mode]} -c $conns -r 200 -l $secs -p 3 -u http://127.0.0.1:PORT${mode_url[$mode]}\`"
    done
    echo
    echo "Meanwhile a normal client (curl, a new connection every 0.25 s, 5 s limit) fetched"
    echo "/index.html; a failure is any answer but 200 within 5 s. The default cap is derived"
    echo "from the open-file limit (hard limit $(ulimit -Hn) here; see \`default_max_connections\`)."
    echo
    echo "| attack | connection cap | curl requests | curl failures | median | p99 | max | server peak | server alive |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "slowhttptest's own last status line and its CSV (one sample per second):"
    echo
    printf '%s\n' "${details[@]}"
    echo
    echo "Direct checks, one socket each:"
    echo
    echo "$direct"
    if [ -n "$analysis" ]; then
        echo
        echo "$analysis"
    fi
} >"$out"
echo "wrote $out" >&2

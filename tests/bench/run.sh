#!/usr/bin/env bash
# Benchmark our `server` against nginx, lighttpd and an in-memory epoll responder (the
# transport ceiling), side by side on loopback, and write docs/BENCHMARKS.md and
# docs/benchmarks.svg. Not part of `cargo test`.
#
# usage: tests/bench/run.sh [--quick]
#   --quick        1 run of 3 s per workload (a smoke test; numbers are rough)
#   (default)      5 runs of 10 s per workload; the median is reported. About 25 minutes.
# env: BENCH_RUNS   runs per server and workload in a full run (default 5: on a shared VM
#                   one run in five may be disturbed, and the median of five rides it out)
#      BENCH_PORT   first of the ports used (default 18400; 24 ports from it)
#      BENCH_OUT    folder for BENCHMARKS.md and benchmarks.svg (default docs/)
#      BENCH_NOTE   a sentence printed at the top of the report (e.g. "Preliminary: ...")
#      BENCH_SERVERS    subset/order of: ours nginx lighttpd ceiling
#      BENCH_WORKLOADS  subset of: small_ka small_close big small_ka_2core idle
#                       tls_small_ka tls_small_close tls_big (HTTPS: ours and nginx only)
#                       h2 (HTTP/2 over TLS with h2load, ours and nginx: tests/bench/h2load.sh)
#                       (with a subset, write to another BENCH_OUT: the report is partial)
#      BENCH_SERVER_BIN use this server binary instead of building target/release/server
# Raw results stay in target/bench-last/; to redo only the report:
#   python3 tests/bench/report.py --dir target/bench-last --repo . --md docs/BENCHMARKS.md --svg docs/benchmarks.svg
#
# The server under test is pinned to CPU 0 and wrk to CPU 1; the 2-core workload lets
# both use CPUs 0-1. Every process the script starts is stopped on exit.
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
RUNS=${BENCH_RUNS:-5} DURATION=10 MODE=full
case "${1:-}" in
    --quick) RUNS=1 DURATION=3 MODE=quick ;;
    "") ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$REPO/tests/bench
OUT=${BENCH_OUT:-$REPO/docs}
BASE_PORT=${BENCH_PORT:-18400}
IDLE_COUNT=10000
read -ra SERVERS <<<"${BENCH_SERVERS:-ours nginx lighttpd ceiling}"
read -ra WORKLOADS <<<"${BENCH_WORKLOADS:-small_ka small_close big small_ka_2core tls_small_ka tls_small_close tls_big idle h2}"
has() { [[ " ${WORKLOADS[*]} " == *" $1 "* ]]; }
export PATH=$PATH:/usr/sbin:/sbin
T0=$(date +%s)
log() { printf '[bench %4ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }

# --- tools (installed from Debian's packages when absent; idempotent) -------------------
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v lighttpd >/dev/null || need+=(lighttpd)
command -v wrk >/dev/null || need+=(wrk)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v taskset >/dev/null || need+=(util-linux)
command -v strace >/dev/null || need+=(strace)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "bench: cargo not found; install Rust first" >&2; exit 1; }

# --- descriptors: as many as allowed, up to 65536 -------------------------------------
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if ((NOFILE < 2 * IDLE_COUNT)); then IDLE_COUNT=$((NOFILE / 2 - 100)); fi
NGINX_CONNS=$((NOFILE < 20000 ? NOFILE : 20000))
LIGHTTPD_CONNS=$((NOFILE / 2)) # lighttpd caps server.max-connections at max-fds / 2
OURS_CONNS=$((NOFILE - 256))   # ours reserves a file per connection by default: lift that

# --- temp dir, processes, cleanup ------------------------------------------------------
TMP=$(mktemp -d /tmp/bench.XXXXXX)
chmod 755 "$TMP" # nginx workers (user nobody) read the fixture
: >"$TMP/results"
: >"$TMP/commands"
declare -A LIVE=()  # every process started and not yet stopped, by pid
declare -A PID_OF=() # the servers running now, by name
stop_pid() { # pid: TERM (and its children), wait up to 5 s, then KILL
    local pid=$1 kids i
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" $kids 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "LIVE[$pid]"
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${!LIVE[@]}"; do stop_pid "$pid"; done
    if ((rc != 0)); then
        echo "bench: failed (exit $rc); logs kept in $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for ((p = BASE_PORT; p < BASE_PORT + 24; p++)); do
    if port_busy "$p"; then echo "bench: port $p is in use; set BENCH_PORT" >&2; exit 1; fi
done

# --- build ----------------------------------------------------------------------------
if [[ -n ${BENCH_SERVER_BIN:-} ]]; then
    OURS_BIN=$BENCH_SERVER_BIN
    log "using $OURS_BIN (not building)"
else
    log "building the release server"
    (cd "$REPO" && cargo build --release -p server --quiet)
    OURS_BIN=$REPO/target/release/server
fi
gcc -O2 -o "$TMP/ceiling" "$BENCH/ceiling.c"

# --- fixture --------------------------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW" "$TMP/nginx-tmp"
cp "$REPO/www/HelloWorld.html" "$WWW/HelloWorld.html"
head -c 1048576 /dev/urandom >"$WWW/big.bin"
chmod 755 "$WWW" && chmod 644 "$WWW"/*
SMALL=/HelloWorld.html BIG=/big.bin

# --- HTTPS: one certificate for both servers (ECDSA P-256, the common choice of ACME
# clients), and the scheme the start/check/wrk helpers use (TLS=1 in the HTTPS phase).
CERT=$TMP/cert.pem KEY=$TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$KEY" \
    -out "$CERT" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
TLS=0
scheme() { if ((TLS)); then echo https; else echo http; fi; }
CURL_TLS=(--cacert "$CERT")

render_nginx() { # port master workers -> path of the rendered config (TLS=1: HTTPS)
    local f=$TMP/nginx-$3w.conf ssl="" tls=""
    if ((TLS)); then
        f=$TMP/nginx-tls-$3w.conf ssl=ssl
        # TLS 1.3 only, session tickets on (nginx's default, stated), a shared session cache.
        tls="ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.3; ssl_session_tickets on; ssl_session_cache shared:SSL:10m;"
    fi
    sed -e "s|@MASTER@|$2|; s|@WORKERS@|$3|; s|@NOFILE@|$NOFILE|; s|@CONNS@|$NGINX_CONNS|" \
        -e "s|@SSL@|$ssl|; s|@TLS@|$tls|" \
        -e "s|@TMP@|$TMP|g; s|@PORT@|$1|g; s|@ROOT@|$WWW|" "$BENCH/nginx.conf.in" >"$f"
    echo "$f"
}
render_lighttpd() { # port -> path
    local f=$TMP/lighttpd.conf
    sed -e "s|@NOFILE@|$NOFILE|; s|@MAXCONN@|$LIGHTTPD_CONNS|" \
        -e "s|@TMP@|$TMP|g; s|@PORT@|$1|g; s|@ROOT@|$WWW|" "$BENCH/lighttpd.conf.in" >"$f"
    echo "$f"
}

# start NAME CPUS PHASE [nginx-workers]: start one server pinned to CPUS, on the port for
# NAME in PHASE, wait until it answers and check its bytes. Sets PORT_OF[NAME].
declare -A PORT_OF=()
start() {
    local name=$1 cpus=$2 phase=$3 workers=${4:-1} port idx cmd conf
    case $name in ours) idx=0 ;; nginx) idx=1 ;; lighttpd) idx=2 ;; ceiling) idx=3 ;; esac
    port=$((BASE_PORT + phase * 4 + idx))
    case $name in
    ours) cmd=("$OURS_BIN" --bind 127.0.0.1 --port "$port" --root "$WWW" --quiet
        --max-connections "$OURS_CONNS" --shutdown-grace 1)
        ((TLS)) && cmd+=(--tls-cert "$CERT" --tls-key "$KEY") ;;
    nginx)
        if ((workers > 1)); then conf=$(render_nginx "$port" on "$workers"); else conf=$(render_nginx "$port" off 1); fi
        nginx -t -q -p "$TMP" -e "$TMP/nginx-error.log" -c "$conf"
        cmd=(nginx -p "$TMP" -e "$TMP/nginx-error.log" -c "$conf") ;;
    lighttpd)
        conf=$(render_lighttpd "$port")
        lighttpd -tt -f "$conf"
        cmd=(lighttpd -D -f "$conf") ;;
    ceiling) cmd=("$TMP/ceiling" "$port" "$WWW/HelloWorld.html" "$WWW/big.bin") ;;
    esac
    echo "start $phase $name $(quote taskset -c "$cpus" "${cmd[@]}")" >>"$TMP/commands"
    taskset -c "$cpus" "${cmd[@]}" >>"$TMP/$name.out" 2>&1 &
    PID_OF[$name]=$!
    LIVE[$!]=1
    PORT_OF[$name]=$port
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "${CURL_TLS[@]}" "$(scheme)://127.0.0.1:$port$SMALL" && break
        kill -0 "${PID_OF[$name]}" 2>/dev/null || { cat "$TMP/$name.out" >&2; echo "bench: $name exited" >&2; exit 1; }
        sleep 0.05
    done
    check "$name" "$port"
}
check() { # name port: the exact bytes, status 200, on both files
    local f code
    for f in HelloWorld.html big.bin; do
        code=$(curl -s -o "$TMP/got" -w '%{http_code}' "${CURL_TLS[@]}" "$(scheme)://127.0.0.1:$2/$f")
        if [[ $code != 200 ]] || ! cmp -s "$TMP/got" "$WWW/$f"; then
            echo "bench: $1 answered /$f with status $code or wrong bytes" >&2
            exit 1
        fi
    done
}
stop_all() {
    local name
    for name in "${!PID_OF[@]}"; do stop_pid "${PID_OF[$name]}"; done
    PID_OF=()
}

quote() { # words -> one line, quoting the words that hold spaces
    local w out=()
    for w; do if [[ $w == *" "* ]]; then out+=("'$w'"); else out+=("$w"); fi; done
    echo "${out[*]}"
}
cpu_ticks() { # pid: user+system clock ticks of it and its children (nginx's workers)
    local p t=0 f
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        f=$(cut -d')' -f2 "/proc/$p/stat" 2>/dev/null) || continue
        set -- $f
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}
HZ=$(getconf CLK_TCK)
cpu_busy() { # clock ticks CPUs 0 and 1 spent busy (all but idle and iowait), and in softirq
    awk '/^cpu[01] / {b += $2 + $3 + $4 + $7 + $8 + $9; s += $8} END {print b, s}' /proc/stat
}

# wrk_run WORKLOAD SERVER RUN CPUS THREADS CONNS PATH [wrk args...]; RUN 0 is a warm-up.
# Records wrk's summary plus the CPU time the server and wrk used (is either saturated?).
wrk_run() {
    local workload=$1 name=$2 run=$3 cpus=$4 threads=$5 conns=$6 path=$7 dur=$DURATION
    shift 7
    ((run == 0)) && dur=1
    local out=$TMP/wrk-$workload-$name-$run.txt
    local cmd=(taskset -c "$cpus" wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 5s
        -s "$BENCH/summary.lua" "$@" "$(scheme)://127.0.0.1:${PORT_OF[$name]}$path")
    local t0 t1 w0 w1 TIMEFORMAT='%3U %3S'
    local b0 b1
    b0=$(cpu_busy) t0=$(cpu_ticks "${PID_OF[$name]}") w0=$(date +%s%N)
    # In the background so that a signal to this script is handled at once (cleanup).
    { time "${cmd[@]}" >"$out" 2>&1; } 2>"$out.time" &
    local wp=$! wrk_cpu
    LIVE[$wp]=1
    wait "$wp" || true
    unset "LIVE[$wp]"
    wrk_cpu=$(tail -n 1 "$out.time")
    t1=$(cpu_ticks "${PID_OF[$name]}") w1=$(date +%s%N) b1=$(cpu_busy)
    ((run == 0)) && return 0
    ((run == 1)) && echo "wrk $workload $name $(quote "${cmd[@]}")" >>"$TMP/commands"
    local line wall_ms=$(((w1 - w0) / 1000000))
    line=$(grep '^BENCH ' "$out" || echo "BENCH requests=0 duration_us=1 bytes=0 connect=0 read=0 write=0 status=0 timeout=0 p50_us=0 p99_us=0 failed=1")
    local server_pct=$(((t1 - t0) * 100000 / HZ / wall_ms))
    local wrk_pct
    wrk_pct=$(awk -v w="$wall_ms" '{printf "%d", ($1 + $2) * 100000 / w}' <<<"$wrk_cpu")
    # Busy time on CPUs 0-1 that was neither the server, wrk, nor softirq: other programs.
    local other_pct
    other_pct=$(awk -v b0="$b0" -v b1="$b1" -v s="$server_pct" -v w="$wrk_pct" -v hz="$HZ" -v ms="$wall_ms" \
        'BEGIN {split(b0, x, " "); split(b1, y, " "); busy = (y[1] - x[1]) - (y[2] - x[2]);
                o = busy * 100000 / hz / ms - s - w; printf "%d", o < 0 ? 0 : o}')
    echo "tput $workload $name $run ${line#BENCH } server_cpu=$server_pct wrk_cpu=$wrk_pct other_cpu=$other_pct" >>"$TMP/results"
    if ! kill -0 "${PID_OF[$name]}" 2>/dev/null; then
        echo "crash $workload $name $run" >>"$TMP/results"
        echo "bench: $name died during $workload" >&2
        cat "$TMP/$name.out" >&2
        exit 1
    fi
    log "$workload $name run $run: $(awk '{print $1}' <<<"${line#BENCH }") in ${dur}s, server CPU $server_pct %, wrk CPU $wrk_pct %, others $other_pct % $(grep -E 'Non-2xx|Socket errors' "$out" | tr '\n' ' ')"
}

# workload WORKLOAD CPUS THREADS CONNS PATH [wrk args...]: warm-up, then RUNS runs of
# each server, interleaved (run 1 of every server, then run 2, ...) so drift in the
# machine's load spreads over all servers.
workload() {
    local w=$1 cpus=$2 t=$3 c=$4 path=$5 name run
    shift 5
    for name in "${SERVERS[@]}"; do wrk_run "$w" "$name" 0 "$cpus" "$t" "$c" "$path" "$@"; done
    local i n=${#SERVERS[@]}
    for ((run = 1; run <= RUNS; run++)); do
        for ((i = 0; i < n; i++)); do # rotate who goes first from run to run
            name=${SERVERS[(i + run - 1) % n]}
            wrk_run "$w" "$name" "$run" "$cpus" "$t" "$c" "$path" "$@"
        done
    done
}

# --- metadata -------------------------------------------------------------------------
{
    printf 'mode\t%s\n' "$MODE"
    printf 'tmp\t%s\n' "$TMP"
    printf 'runs\t%s\n' "$RUNS"
    printf 'duration\t%s\n' "$DURATION"
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'cpu\t%s\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    printf 'cores\t%s\n' "$(nproc)"
    printf 'memory\t%s\n' "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
    printf 'kernel\t%s\n' "$(uname -r)"
    printf 'nginx\t%s\n' "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    printf 'lighttpd\t%s\n' "$(lighttpd -v | head -1 | sed 's/ - .*//')"
    printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
    printf 'rustc\t%s\n' "$(rustc -V)"
    printf 'gcc\t%s\n' "$(gcc --version | head -1)"
    printf 'commit\t%s\n' "$(git -C "$REPO" describe --always --dirty --exclude '*' 2>/dev/null || echo unknown)"
    printf 'dirty_server\t%s\n' "$(git -C "$REPO" status --porcelain -- server shared Cargo.lock 2>/dev/null | wc -l)"
    [[ -n ${BENCH_SERVER_BIN:-} ]] && printf 'server_bin\t%s\n' "$BENCH_SERVER_BIN"
    printf 'tls\t%s\n' "$(openssl version | awk '{print $1, $2}') for nginx and wrk; rustls with ring for ours; ECDSA P-256 certificate"
    printf 'nofile\t%s\n' "$NOFILE"
    printf 'idle_count\t%s\n' "$IDLE_COUNT"
    printf 'load_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/meta"

# --- phase 1: one core for the server -------------------------------------------------
log "phase 1: servers on CPU 0, wrk on CPU 1 ($RUNS x ${DURATION}s per server and workload)"
if has small_ka || has small_close || has big; then
    for name in "${SERVERS[@]}"; do start "$name" 0 0; done
    has small_ka && workload small_ka 1 1 64 "$SMALL"
    has small_close && workload small_close 1 1 64 "$SMALL" -H "Connection: close"
    has big && workload big 1 1 16 "$BIG"
    stop_all
fi

# --- phase 1b: system calls per request, the same servers and workloads ----------------
# Counted over 3 s in the middle of a 6 s wrk run, with perf's syscall tracepoints when
# the kernel has them (little overhead, so each server behaves as under the timed runs),
# else strace -c -f (which slows every call, so a server may wait less and read more per
# wait than it would). A response is counted as its head's write: the most of sendto,
# writev, write and sendmsg. These runs give no throughput.
SYSCALL_NAMES="recvfrom read readv sendto write writev sendmsg sendfile64 epoll_wait epoll_pwait epoll_ctl timerfd_settime futex newfstatat statx ioctl openat openat2 close shutdown setsockopt accept4"
TRACEPOINTS=/sys/kernel/tracing/events/syscalls
[[ -d $TRACEPOINTS ]] || TRACEPOINTS=/sys/kernel/debug/tracing/events/syscalls
if command -v perf >/dev/null && [[ -d $TRACEPOINTS/sys_enter_sendto ]]; then
    SYSCALL_TOOL=perf
elif command -v strace >/dev/null; then
    SYSCALL_TOOL=strace
else
    SYSCALL_TOOL=
fi
printf 'syscall_tool\t%s\n' "${SYSCALL_TOOL:-none}" >>"$TMP/meta"
syscalls_run() { # workload name conns path [wrk args...]
    local w=$1 name=$2 conns=$3 path=$4 pid out=$TMP/syscalls-$1-$2.txt n c events=()
    shift 4
    pid=${PID_OF[$name]}
    # nginx without a master is one process; with one, count its worker.
    [[ $name == nginx ]] && pgrep -P "$pid" >/dev/null && pid=$(pgrep -P "$pid" | head -1)
    taskset -c 1 wrk -t1 -c"$conns" -d6s "$@" "$(scheme)://127.0.0.1:${PORT_OF[$name]}$path" >/dev/null 2>&1 &
    local wrk_pid=$!
    LIVE[$wrk_pid]=1
    sleep 1.5
    if [[ $SYSCALL_TOOL == perf ]]; then
        for n in $SYSCALL_NAMES; do
            [[ -d $TRACEPOINTS/sys_enter_$n ]] && events+=(-e "syscalls:sys_enter_$n")
        done
        # CSV: count,unit,event,...
        perf stat -x, "${events[@]}" -p "$pid" -- sleep 3 2>&1 >/dev/null |
            awk -F, '$3 ~ /sys_enter_/ {sub(/.*sys_enter_/, "", $3); print $1, $3}' >"$out" || true
    else
        timeout -s INT 3 strace -f -qq -c -U calls,name -o "$out.raw" -p "$pid" 2>/dev/null || true
        awk '$1 ~ /^[0-9]+$/ {print $1, $2}' "$out.raw" 2>/dev/null >"$out" || true
    fi
    wait "$wrk_pid" 2>/dev/null || true
    unset "LIVE[$wrk_pid]"
    local line="syscalls $w $name"
    for n in $SYSCALL_NAMES; do
        c=$(awk -v n="$n" '$2 == n {print $1}' "$out" 2>/dev/null)
        [[ $c =~ ^[0-9]+$ ]] || c=0
        line+=" ${n%64}=$c"
    done
    echo "$line" >>"$TMP/results"
    log "syscalls $w $name ($SYSCALL_TOOL): ${line#syscalls "$w" "$name" }"
}
if [[ -n $SYSCALL_TOOL ]] && { has small_ka || has small_close || has big; }; then
    log "phase 1b: system calls per response ($SYSCALL_TOOL; not timed)"
    for name in "${SERVERS[@]}"; do
        [[ $name == ceiling ]] && continue
        start "$name" 0 0
        has small_ka && syscalls_run small_ka "$name" 64 "$SMALL"
        has small_close && syscalls_run small_close "$name" 64 "$SMALL" -H "Connection: close"
        has big && syscalls_run big "$name" 16 "$BIG"
        stop_all
    done
fi

# --- phase 2: two cores shared by the server and wrk ----------------------------------
log "phase 2: servers and wrk both on CPUs 0-1"
if has small_ka_2core; then
    for name in "${SERVERS[@]}"; do start "$name" 0-1 1 2; done
    workload small_ka_2core 0-1 2 64 "$SMALL"
    stop_all
fi

# --- phase 4 (run before 3): HTTPS, ours and nginx with the same certificate, one core
if has tls_small_ka || has tls_small_close || has tls_big; then
    ALL_SERVERS=("${SERVERS[@]}")
    SERVERS=()
    for name in "${ALL_SERVERS[@]}"; do [[ $name == ours || $name == nginx ]] && SERVERS+=("$name"); done
    log "phase 4: HTTPS (${SERVERS[*]}) on CPU 0, wrk on CPU 1"
    TLS=1
    for name in "${SERVERS[@]}"; do start "$name" 0 3; done
    has tls_small_ka && workload tls_small_ka 1 1 64 "$SMALL"
    # A new connection per request: a TLS handshake each; wrk keeps each connection's
    # session across reconnects, so all but a connection's first resume by ticket.
    has tls_small_close && workload tls_small_close 1 1 64 "$SMALL" -H "Connection: close"
    has tls_big && workload tls_big 1 1 16 "$BIG"
    stop_all
    TLS=0
    SERVERS=("${ALL_SERVERS[@]}")
fi

# --- phase 3: memory per idle keep-alive connection, one fresh server at a time --------
if has idle; then
    log "phase 3: $IDLE_COUNT idle keep-alive connections"
    for name in "${SERVERS[@]}"; do
        start "$name" 0 2
        taskset -c 1 python3 "$BENCH/idle.py" --port "${PORT_OF[$name]}" --pid "${PID_OF[$name]}" \
            --count "$IDLE_COUNT" >"$TMP/idle-$name.txt" 2>&1 &
        LIVE[$!]=1
        wait "$!" || true
        unset "LIVE[$!]"
        line=$(grep '^IDLE ' "$TMP/idle-$name.txt" || echo "IDLE failed=1")
        echo "idle $name ${line#IDLE }" >>"$TMP/results"
        kill -0 "${PID_OF[$name]}" 2>/dev/null || echo "crash idle $name 1" >>"$TMP/results"
        log "idle $name: ${line#IDLE }"
        stop_all
    done
    echo "idle - taskset -c 1 python3 $BENCH/idle.py --port PORT --pid SERVER_PID --count $IDLE_COUNT" >>"$TMP/commands"
fi

if has h2; then
    log "phase 4: HTTP/2 over TLS, ours and nginx, with h2load (tests/bench/h2load.sh)"
    quick=()
    [[ $RUNS == 1 ]] && quick=(--quick)
    if BENCH_SERVER_BIN=$OURS_BIN BENCH_PORT=$((BASE_PORT + 30)) "$BENCH/h2load.sh" "${quick[@]}" >"$TMP/h2load.md"; then
        log "h2load: $(grep -c '^| [a-z1]' "$TMP/h2load.md") rows"
    else
        log "h2load.sh failed; the report has no HTTP/2 section"
        rm -f "$TMP/h2load.md"
    fi
fi

printf 'load_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/meta"
printf 'elapsed\t%s\n' "$(($(date +%s) - T0))" >>"$TMP/meta"
# Server logs (stderr): anything our server printed during the runs is worth reading.
for name in "${SERVERS[@]}"; do
    [[ -s $TMP/$name.out ]] && { echo "--- $name"; tail -n 20 "$TMP/$name.out"; } >>"$TMP/server-logs"
done
for f in "$TMP"/nginx*error.log "$TMP"/lighttpd*error.log; do
    [[ -s $f ]] && { echo "--- ${f#"$TMP"/}"; tail -n 20 "$f"; } >>"$TMP/server-logs"
done

# Keep the raw results (target/ is not in git) so report.py can be rerun on them.
LAST=$REPO/target/bench-last
rm -rf "$LAST" && mkdir -p "$LAST"
cp "$TMP"/meta "$TMP"/results "$TMP"/commands "$TMP"/*.conf "$TMP"/wrk-*.txt "$TMP"/idle-*.txt "$TMP"/syscalls-*.txt "$TMP"/h2load.md "$LAST"/ 2>/dev/null || true
[[ -f $TMP/server-logs ]] && cp "$TMP/server-logs" "$LAST"/
mkdir -p "$OUT"
python3 "$BENCH/report.py" --dir "$LAST" --repo "$REPO" --md "$OUT/BENCHMARKS.md" --svg "$OUT/benchmarks.svg" \
    --note "${BENCH_NOTE:-}"
log "done in $(($(date +%s) - T0)) s: $OUT/BENCHMARKS.md, $OUT/benchmarks.svg"

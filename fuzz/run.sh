#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 60) and prints, per target, the
# corpus size and the executions libFuzzer reports. Bounded: each run stops itself after
# -max_total_time, and `timeout` backs that up.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Builds are optimised with debug assertions and overflow checks on (cargo-fuzz default).
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Only a stable toolchain? RUSTC_BOOTSTRAP=1
# lets it use the nightly-only flags. FUZZ_SANITIZER=none runs without ASan.
set -euo pipefail

cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1

cargo fuzz build --sanitizer "$sanitizer"

mkdir -p target/logs
printf '%-14s %8s %12s %10s %8s %s\n' target seconds execs "execs/s" corpus result
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log="target/logs/$t.log"
    result=ok
    # The corpus grows in corpus/$t (not committed); seeds/$t holds hand-written starts.
    # -print_final_stats prints stat::number_of_executed_units at exit.
    if ! timeout $((secs + 120)) cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1; then
        result="CRASH (see $log and artifacts/$t/)"
        status=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    corpus=$(find "corpus/$t" -type f | wc -l)
    rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
    printf '%-14s %8s %12s %10s %8s %s\n' "$t" "$secs" "${execs:-?}" "$rate" "$corpus" "$result"
done
exit $status

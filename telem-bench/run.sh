#!/usr/bin/env bash
# The whole performance suite in one command (about 10 minutes once built, on 2 cores):
#   1. the criterion group `spans` (telem-bench/benches/spans.rs): every span case side by side;
#   2. the compiled-out cases (telem-bench/compiled-out/, a build of its own), into the same group;
#   3. the criterion group `events` (telem-bench/benches/events.rs): telem's events beside one
#      `#[span]`, a plain call, tracing (registry + fmt layer into a sink) and log + env_logger;
#   4. the criterion group `metrics` (telem-bench/benches/metrics.rs, issue 11): `#[counted]`,
#      counters, histograms and the exposition of 10 000 series beside a plain call, one `#[span]`,
#      the prometheus crate and the metrics crate with its Prometheus recorder (about 2.5 minutes; its
#      figures are in run.log and $CRITERION_HOME/metrics, the report does not read them yet);
#   5. the harnesses: `drain` (collector drain rate), `rss` (resident memory after 10 M / 100 M spans),
#      `cpu` (whole-process CPU per span and spans lost, 20 M-span bursts, a process per case; the
#      repeated cases 5 times quiet and 5 times beside one busy process per core), `workload` (overhead
#      of each library on a program with a span per 1–10 µs of work, against the plain program);
#   6. instruction counts under callgrind (telem-bench/callgrind.sh);
# then prints one report: the ratio table, the harness results, the instruction counts and the
# targets of issues 3, 8, 9 and 10 (met / not met). Progress goes to stderr, every tool's own output to
# <results>/run.log.
#
#   bash telem-bench/run.sh                 # everything
#   bash telem-bench/run.sh telem           # only the criterion cases matching a filter (+ the rest)
#   SKIP_HARNESS=1 SKIP_CALLGRIND=1 bash telem-bench/run.sh     # criterion + tables only (~6 min)
#
# Honours CARGO_TARGET_DIR (default: the workspace's target/); criterion writes to
# $CARGO_TARGET_DIR/criterion and the harnesses to $CARGO_TARGET_DIR/telem-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Both criterion runs (this workspace's and compiled-out/'s) must write to the same directory.
export CRITERION_HOME="$CARGO_TARGET_DIR/criterion"
export TELEM_BENCH_RESULTS="${TELEM_BENCH_RESULTS:-$CARGO_TARGET_DIR/telem-bench}"
# telem's settings come from the builder in every case; nothing in the environment may change them.
unset TELEM_ENABLED TELEM_RING_CAPACITY TELEM_FLUSH_INTERVAL_MS TELEM_CONSOLE TELEM_STORE OTEL_SDK_DISABLED \
    TELEM_METRICS_CARDINALITY_LIMIT

# Fresh results: numbers left by an earlier run never show up as this run's.
rm -rf "$TELEM_BENCH_RESULTS"
mkdir -p "$TELEM_BENCH_RESULTS"
if [[ $# -eq 0 ]]; then rm -rf "$CRITERION_HOME/spans" "$CRITERION_HOME/events" "$CRITERION_HOME/metrics"; fi
LOG="$TELEM_BENCH_RESULTS/run.log"
: >"$LOG"
start=$SECONDS
step() { echo "[run.sh +$((SECONDS - start))s] $*" >&2; }
fail() {
    echo "[run.sh] failed; the end of $LOG:" >&2
    tail -n 30 "$LOG" >&2
}
trap fail ERR

step "building (log: $LOG)"
cargo build --release -p telem-bench --bins >>"$LOG" 2>&1
cargo bench -p telem-bench --bench spans --no-run >>"$LOG" 2>&1
cargo bench -p telem-bench --bench events --no-run >>"$LOG" 2>&1
cargo bench -p telem-bench --bench metrics --no-run >>"$LOG" 2>&1
(cd telem-bench/compiled-out && cargo bench --bench compiled_out --no-run) >>"$LOG" 2>&1

step "criterion group spans"
cargo bench -p telem-bench --bench spans -- "$@" >>"$LOG" 2>&1
step "criterion, telem compiled out (separate build and process)"
(cd telem-bench/compiled-out && cargo bench --bench compiled_out -- "$@") >>"$LOG" 2>&1
step "criterion group events"
cargo bench -p telem-bench --bench events -- "$@" >>"$LOG" 2>&1
step "criterion group metrics"
cargo bench -p telem-bench --bench metrics -- "$@" >>"$LOG" 2>&1

if [[ "${SKIP_HARNESS:-0}" != 1 ]]; then
    BIN="$CARGO_TARGET_DIR/release"
    step "drain"
    "$BIN/drain" >>"$LOG" 2>&1
    step "rss"
    "$BIN/rss" >>"$LOG" 2>&1
    step "cpu (every case once, then the repeated cases quiet and beside busy processes)"
    "$BIN/cpu" >>"$LOG" 2>&1
    step "workload (a span per 1–10 µs of work: overhead against the plain program)"
    "$BIN/workload" >>"$LOG" 2>&1
fi
if [[ "${SKIP_CALLGRIND:-0}" != 1 ]]; then
    step "callgrind"
    bash telem-bench/callgrind.sh >>"$LOG" 2>&1
fi
step "done"
echo
"$CARGO_TARGET_DIR/release/report"

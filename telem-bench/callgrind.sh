#!/usr/bin/env bash
# Instructions per call on the hot path, counted by callgrind: each case runs N and 2N times and
# (Ir(2N) - Ir(N)) / N is reported, so start-up and shutdown cancel out. Counting starts at `main` on
# the main thread and at the thread entry of every spawned thread, so time-dependent calibration that
# runs before `main` (fastrace's clock, fastant, spins on clock_gettime in a constructor) stays out.
# Two figures per case:
#   - calling thread: instructions executed inside the measured loop by the thread that makes the calls;
#   - whole process: every thread (telem's collector and exporter threads, fastrace's collector, the
#     OpenTelemetry batch processor's thread), including draining and exporting every span before exit.
#
#   bash telem-bench/callgrind.sh [N]      # N defaults to 200000 (about a minute in all)
#   CASES="telem floor" bash telem-bench/callgrind.sh    # some cases only; KEEP=1 keeps the outputs
#
# The OpenTelemetry cases and the formatting event cases (tracing_fmt_event, log_event) run N/20 and
# 2N/20 calls (they cost ~20-50x more per call). The compiled-out cases come from `compiled-out/`
# (telem built without its `enabled` feature, its own workspace). The event cases (issue 10):
#   CASES="plain telem telem_event2 telem_event_below" bash telem-bench/callgrind.sh 100000
#
# valgrind runs one thread at a time, so a background thread may not run during the loop: telem gets a
# ring that holds every span of the run and OpenTelemetry a batch queue as large (each run checks that
# nothing was dropped), so every span takes the store path and is drained at shutdown, counted in the
# whole-process figure. fastrace's per-thread queue is unbounded. The calling-thread figures are exact;
# the whole-process ones vary by a few instructions with how threads get scheduled under valgrind.
# Honours CARGO_TARGET_DIR; leaves the table in <target>/telem-bench/callgrind.md for `report`.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200000}"
CASES=(${CASES:-plain floor telem telem_disabled plain_compiled_out telem_compiled_out fastrace tracing_no_subscriber tracing_registry otel_sdk tracing_otel telem_event2 telem_event2_outside telem_event_below tracing_fmt_event tracing_fmt_below log_event log_below})
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
RESULTS="${TELEM_BENCH_RESULTS:-$TARGET/telem-bench}"
mkdir -p "$RESULTS"

command -v valgrind >/dev/null || {
    echo "valgrind is not installed (apt-get install valgrind): skipping the instruction counts" | tee "$RESULTS/callgrind.md"
    exit 0
}
cargo build -q -p telem-bench --release --bin callgrind_span --target-dir "$TARGET"
(cd telem-bench/compiled-out && cargo build -q --release --bin callgrind_compiled_out --target-dir "$TARGET")
OUT="$(mktemp -d)"
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$OUT"' EXIT

# Prints "<calling thread Ir> <whole process Ir>" for one run of a case with n calls.
count() {
    local case="$1" n="$2" dir="$OUT/$1-$2" bin=callgrind_span arg="$1"
    if [[ "$case" == *_compiled_out ]]; then
        bin=callgrind_compiled_out
        arg="${case%_compiled_out}"
    fi
    mkdir -p "$dir"
    valgrind --tool=callgrind --separate-threads=yes --collect-atstart=no \
        --toggle-collect="$bin::main" --toggle-collect='*thread_start*' \
        --callgrind-out-file="$dir/cg.out" \
        "$TARGET/release/$bin" "$arg" "$n" >/dev/null 2>"$dir/log" || { cat "$dir/log" >&2; return 1; }
    # With --separate-threads each thread has its own file, cg.out-01 being the main thread; the calling
    # thread's figure is the inclusive cost of the measured loop (`hot_loop*`) in it.
    local main total
    main=$(callgrind_annotate --inclusive=yes --threshold=100 "$dir/cg.out-01" |
        awk -v pat="$bin::hot_loop" 'index($0, pat) { gsub(",", "", $1); s += $1 } END { print s + 0 }')
    total=$(for f in "$dir"/cg.out-*; do grep -hE '^(summary|totals):' "$f" | head -1; done | awk '{s += $2} END {print s}')
    echo "$main $total"
}

{
    echo "### Instructions per call (callgrind)"
    echo
    echo "(Ir(2N) − Ir(N)) / N with N = $N (N/20 for the OpenTelemetry cases, tracing_fmt_event and log_event); exact where timing plays no part."
    echo
    echo "| case | Ir/call, calling thread | Ir/call, whole process |"
    echo "|---|---:|---:|"
    for case in "${CASES[@]}"; do
        n="$N"
        case "$case" in otel_sdk | tracing_otel | tracing_fmt_event | log_event) n=$((N / 20)) ;; esac
        read -r m1 t1 < <(count "$case" "$n")
        read -r m2 t2 < <(count "$case" $((2 * n)))
        awk -v c="$case" -v m1="$m1" -v m2="$m2" -v t1="$t1" -v t2="$t2" -v n="$n" \
            'BEGIN { printf "| %s | %.1f | %.1f |\n", c, (m2 - m1) / n, (t2 - t1) / n }'
    done
    echo
} | tee "$RESULTS/callgrind.md"

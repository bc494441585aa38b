//! Per-call cost of an empty function: plain, the physical floor of a span, telem (enabled and
//! runtime-disabled), fastrace, tracing and OpenTelemetry, side by side in one criterion group (`spans`)
//! so the ratios come from one run on one machine state. `bash telem-bench/run.sh` runs it (plus the
//! compiled-out case, which needs a build of its own, see `compiled-out/`) and prints the table.
//!
//! Each case installs what it needs for its own duration only: telem runs (collector + null exporter)
//! only around the `telem*` cases, the tracing dispatchers are the thread's default only inside the
//! measured loops, fastrace's spans are recorded only under the sampled roots the `fastrace*` cases
//! open, and the OpenTelemetry tracer provider lives only around the two OpenTelemetry cases.
//!
//! Shapes: one span per call; `*_nested3`, three nested spans per call; `*_tree100`, a root with 99
//! children (100 spans) per call; `*_2threads`, one span per call on each of two threads calling at the
//! same moment (the time is the slower thread's wall time, so the figure is per call per thread).
//!
//! Cases ending in `_cpu` time the same loop with the CPU time of the whole process (every thread:
//! telem's collector and exporter threads, fastrace's global collector) instead of wall-clock time.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};
use telem_bench as b;
use telem_bench::{wall, Pair};

/// Times `iters` calls of `f` with the CPU time of the whole process.
#[inline(always)]
fn cpu(iters: u64, f: impl Fn()) -> Duration {
    let start = b::process_cpu_time();
    for _ in 0..iters {
        f();
    }
    b::process_cpu_time().saturating_sub(start)
}

/// `iters` fastrace calls of `f` (`spans` spans each) under sampled roots, wall clock.
#[inline(always)]
fn fastrace_wall(iters: u64, spans: u64, f: fn()) -> Duration {
    let start = Instant::now();
    b::fastrace_loop(iters, spans, f);
    start.elapsed()
}

/// Runs `f` on two threads at once (see [`Pair`]).
fn pair_of(f: fn()) -> Pair {
    Pair::start(b::no_setup, move |iters| wall(iters, f))
}

fn spans(c: &mut Criterion) {
    let _ = std::fs::remove_file(b::results_dir().join("criterion_accounting.txt"));
    let mut g = c.benchmark_group("spans");

    // Baselines.
    g.bench_function("plain", |bench| bench.iter(b::plain));
    g.bench_function("floor", |bench| bench.iter(b::floor));
    g.bench_function("plain_nested3", |bench| bench.iter(b::plain_nested3));
    g.bench_function("floor_nested3", |bench| bench.iter(b::floor_nested3));
    g.bench_function("plain_tree100", |bench| bench.iter(b::plain_tree100));
    g.bench_function("floor_tree100", |bench| bench.iter(b::floor_tree100));
    for (name, f) in [("plain_2threads", b::plain as fn()), ("floor_2threads", b::floor)] {
        let pair = pair_of(f);
        g.bench_function(name, |bench| bench.iter_custom(|iters| pair.run(iters)));
    }

    // telem, enabled: collector thread running, one null exporter.
    let telem = b::telem_start();
    g.bench_function("telem", |bench| bench.iter(b::telem_span));
    g.bench_function("telem_cpu", |bench| bench.iter_custom(|iters| cpu(iters, b::telem_span)));
    g.bench_function("telem_nested3", |bench| bench.iter(b::telem_nested3));
    g.bench_function("telem_flow3", |bench| bench.iter(b::telem_flow3));
    g.bench_function("telem_tree100", |bench| bench.iter(b::telem_tree100));
    let pair = pair_of(b::telem_span);
    g.bench_function("telem_2threads", |bench| bench.iter_custom(|iters| pair.run(iters)));
    drop(pair);
    b::telem_stop(telem, "criterion run, telem enabled (telem, telem_cpu, nested3, tree100, 2threads)");

    // telem, the ratio sampler said no: the span's context is made, nothing is written to the ring.
    let telem = b::telem_start_unsampled();
    g.bench_function("telem_unsampled", |bench| bench.iter(b::telem_span));
    b::telem_stop(telem, "criterion run, telem unsampled (telem_unsampled)");

    // telem, runtime-disabled (the state `TELEM_ENABLED=0` gives).
    let telem = b::telem_start_disabled();
    g.bench_function("telem_disabled", |bench| bench.iter(b::telem_span));
    drop(telem);

    // fastrace's not-sampled path: no sampled root, so `#[trace]` records nothing.
    g.bench_function("fastrace_unsampled", |bench| bench.iter(b::fastrace_span));

    // fastrace: the full sampled path, local spans under a sampled root, reporter installed.
    b::fastrace_start();
    g.bench_function("fastrace", |bench| bench.iter_custom(|iters| fastrace_wall(iters, 1, b::fastrace_span)));
    g.bench_function("fastrace_cpu", |bench| {
        bench.iter_custom(|iters| {
            let start = b::process_cpu_time();
            b::fastrace_loop(iters, 1, b::fastrace_span);
            b::process_cpu_time().saturating_sub(start)
        })
    });
    g.bench_function("fastrace_nested3", |bench| {
        bench.iter_custom(|iters| fastrace_wall(iters, 3, b::fastrace_nested3))
    });
    g.bench_function("fastrace_tree100", |bench| {
        bench.iter_custom(|iters| fastrace_wall(iters, 100, b::fastrace_tree100))
    });
    let pair = Pair::start(b::no_setup, |iters| fastrace_wall(iters, 1, b::fastrace_span));
    g.bench_function("fastrace_2threads", |bench| bench.iter_custom(|iters| pair.run(iters)));
    drop(pair);
    fastrace::flush();

    // tracing: no subscriber at all, then a bare registry as this thread's default.
    g.bench_function("tracing_no_subscriber", |bench| bench.iter(b::tracing_span));
    let registry = b::tracing_registry();
    for (name, f) in [
        ("tracing_registry", b::tracing_span as fn()),
        ("tracing_registry_nested3", b::tracing_nested3),
        ("tracing_registry_tree100", b::tracing_tree100),
    ] {
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                let _default = tracing::dispatcher::set_default(&registry);
                wall(iters, f)
            })
        });
    }
    let shared = registry.clone();
    let pair =
        Pair::start(move || Box::new(tracing::dispatcher::set_default(&shared)), |iters| wall(iters, b::tracing_span));
    g.bench_function("tracing_registry_2threads", |bench| bench.iter_custom(|iters| pair.run(iters)));
    drop(pair);

    // OpenTelemetry: tracing + registry + tracing-opentelemetry layer, and the SDK on its own; both into
    // a batch span processor and an exporter that discards.
    let provider = b::otel_provider();
    let otel = b::tracing_otel(&provider);
    g.bench_function("tracing_otel", |bench| {
        bench.iter_custom(|iters| {
            let _default = tracing::dispatcher::set_default(&otel);
            wall(iters, b::tracing_span)
        })
    });
    let tracer = b::otel_tracer(&provider);
    g.bench_function("otel_sdk", |bench| bench.iter(|| b::otel_span(&tracer)));
    drop(otel);
    let _ = provider.shutdown();
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .without_plots()
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = spans }
criterion_main!(benches);

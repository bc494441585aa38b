//! Per-event cost on the recording thread: telem's `info!` with two scalar fields (inside a span,
//! outside any span, below the minimum level) beside one `#[telem::span]` call, a plain call, `tracing`
//! (registry + fmt layer into a sink; a bare registry; below its level) and `log` + env_logger (into a
//! sink; below its level), side by side in one criterion group (`events`) so the ratios come from one
//! run on one machine state. `bash telem-bench/run.sh` runs it and the report checks issue 10's targets.
//!
//! Every case calls one `#[inline(never)]` function (see `src/lib.rs`): the same event in every library
//! (level info, two scalar fields `n = 7`, `ok = true`, no message). `floor` (two `rdtsc` + one 64-byte
//! store, as in the `spans` group) is there because a span reads the clock twice and an event once.
//!
//! "Inside a span": the measured loop runs under one manual span (`telem::Span::start` + `enter()`,
//! opened before criterion's warm-up and ended after the case), so each iteration is the event alone,
//! with the current span's trace and span ids read and written into the record — what an event costs
//! when it is made inside a span that exists anyway. Opening a span per sample inside `iter_custom`
//! would put a span's start and end into samples of a few iterations; `telem_span_event2` (a `#[span]`
//! function with the event in its body) is the other view: (span + event) per call, to compare with
//! `telem_span`.
//!
//! Setup lives only as long as its cases: telem (collector + null exporter, as in the `spans` group)
//! around the `telem*` cases; the tracing dispatchers are this thread's default only inside the
//! measured loops (`set_default`), the fmt one first and dropped before the bare registry is made (a
//! live registry without a filter would raise tracing's global maximum level to TRACE and so turn its
//! below-level case into a full dispatch); env_logger is `log`'s one global logger for the rest of the
//! process (installed after the telem and tracing cases; telem's `log` bridge is not in this build).

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use telem_bench as b;
use telem_bench::wall;

/// Times `iters` calls of `f` with the CPU time of the whole process.
#[inline(always)]
fn cpu(iters: u64, f: impl Fn()) -> Duration {
    let start = b::process_cpu_time();
    for _ in 0..iters {
        f();
    }
    b::process_cpu_time().saturating_sub(start)
}

const ACCOUNTING: &str = "criterion_events_accounting.txt";

fn events(c: &mut Criterion) {
    let _ = std::fs::remove_file(b::results_dir().join(ACCOUNTING));
    let mut g = c.benchmark_group("events");

    g.bench_function("plain", |bench| bench.iter(b::plain));
    // Two `rdtsc` and a 64-byte store (the `spans` group's floor): a span reads the clock twice, an
    // event once, so how dear `rdtsc` is on the host moves the event / span ratio.
    g.bench_function("floor", |bench| bench.iter(b::floor));

    // telem: the `spans` group's setup (collector thread, one null exporter).
    let telem = b::telem_start();
    g.bench_function("telem_span", |bench| bench.iter(b::telem_span));
    b::in_span(|| {
        g.bench_function("telem_event2", |bench| bench.iter(b::telem_event2));
        g.bench_function("telem_event2_cpu", |bench| bench.iter_custom(|iters| cpu(iters, b::telem_event2)));
    });
    g.bench_function("telem_event2_outside", |bench| bench.iter(b::telem_event2));
    g.bench_function("telem_span_event2", |bench| bench.iter(b::telem_span_event2));
    g.bench_function("telem_event_below", |bench| bench.iter(b::telem_event_below));
    b::telem_stop_into(
        telem,
        "criterion run, group events (telem_span, telem_event2, telem_event2_cpu, telem_event2_outside, telem_span_event2, telem_event_below)",
        ACCOUNTING,
    );

    // tracing: registry + fmt layer into a sink (its default maximum level INFO), then below it.
    let fmt = b::tracing_fmt_sink();
    for (name, f) in [("tracing_fmt", b::tracing_event2 as fn()), ("tracing_fmt_below", b::tracing_event_below)] {
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                let _default = tracing::dispatcher::set_default(&fmt);
                wall(iters, f)
            })
        });
    }
    drop(fmt);
    // The lower reference: a bare registry (the event is dispatched, nothing formats or writes it).
    let registry = b::tracing_registry();
    g.bench_function("tracing_registry", |bench| {
        bench.iter_custom(|iters| {
            let _default = tracing::dispatcher::set_default(&registry);
            wall(iters, b::tracing_event2)
        })
    });
    drop(registry);

    // log + env_logger into a sink (the process's one global logger from here on).
    b::env_logger_sink();
    g.bench_function("log_env_logger", |bench| bench.iter(b::log_event2));
    g.bench_function("log_below", |bench| bench.iter(b::log_event_below));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .without_plots()
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = events }
criterion_main!(benches);

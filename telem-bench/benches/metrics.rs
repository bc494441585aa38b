//! Per-update cost of telem's metrics (issue 11) beside a plain call, one `#[telem::span]`, the
//! `prometheus` crate and the `metrics` facade with `metrics-exporter-prometheus`'s recorder, side by
//! side in one criterion group (`metrics`) so the ratios come from one run on one machine state.
//!
//! Every case is one call of an `#[inline(never)]` function defined here, so the call is never folded
//! away and each case pays the same call as `plain`: the difference to `plain` is what the update adds.
//! Label values and observations go through `black_box`.
//!
//! - `#[telem::counted]`, `#[telem::counted(duration)]` and `#[telem::span]` on an empty function;
//! - an update of a counter whose labels are all literals, the way each library's users write it at
//!   the call site: `telem::counter!("…", k = "v").add(1)` (the site caches its series),
//!   `prometheus::IntCounter::inc` on a `static LazyLock<IntCounter>` (registered in the default
//!   registry), `metrics::counter!("…", "k" => "v").increment(1)` under the Prometheus recorder; the
//!   `_handle` rows are the same update through a handle already in hand (the library's floor);
//! - the uncached shapes: telem with a `String` label value (looked up per update), and
//!   `IntCounterVec::with_label_values(&[…]).inc()`;
//! - a histogram observation over the same 14 bounds (`#[counted(duration)]`'s, seconds) and the same
//!   value (0.03, the fourth bucket) in telem and in `prometheus::Histogram::observe`;
//! - `*_2threads`: two threads updating one counter at the same moment (the telem-bench `Pair`: the
//!   figure is the slower thread's wall time per update, i.e. per update per thread while the other
//!   updates the same cache line);
//! - `*_render_10k`: the text exposition of 10 000 series of one counter (label `id` = 0 … 9 999) in
//!   each library (telem's `render()`, the prometheus crate's `TextEncoder` over a registry holding an
//!   `IntCounterVec`, the recorder's `PrometheusHandle::render`).
//!
//! telem runs for the whole group (collector + null exporter, as in the `spans` group, with
//! `cardinality_limit(20_000)` so the 10 000 render series fit under one metric name): metrics need
//! no running telem, but a process that updates them usually has it running, and `#[span]` needs it.
//! The `metrics` crate's recorder is the process's global recorder from the start.

use criterion::{criterion_group, criterion_main, Criterion};
use prometheus::{Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};
use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Duration;
use telem_bench as b;
use telem_bench::{wall, Pair};

/// Series of the render cases.
const RENDER_SERIES: usize = 10_000;

/// The histogram bounds of every histogram case (`#[counted(duration)]`'s, seconds).
const BOUNDS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/// The observation of every histogram case: the fourth bucket (`le="0.05"`).
const OBSERVATION: f64 = 0.03;

const ACCOUNTING: &str = "criterion_metrics_accounting.txt";

// ---------------------------------------------------------------------------------------------------
// the measured functions
// ---------------------------------------------------------------------------------------------------

/// The empty call every case pays (the same body as `telem_bench::plain`, compiled in this crate like
/// every other case).
#[inline(never)]
fn plain() {
    black_box(());
}

#[telem::counted]
#[inline(never)]
fn telem_counted() {
    black_box(());
}

#[telem::counted(duration)]
#[inline(never)]
fn telem_counted_duration() {
    black_box(());
}

#[telem::span]
#[inline(never)]
fn telem_span() {
    black_box(());
}

/// A counter with literal labels: the call site caches its series.
#[inline(never)]
fn telem_counter() {
    telem::counter!("bench.counter", k = "v").add(1);
}

/// The same series through a handle taken once.
#[inline(never)]
fn telem_counter_handle(counter: telem::metrics::Counter) {
    counter.add(1);
}

/// A counter whose label value is a `String`: looked up on each update.
#[inline(never)]
fn telem_counter_dynamic(value: &String) {
    telem::counter!("bench.counter.dynamic", k = value).add(1);
}

#[inline(never)]
fn telem_histogram() {
    telem::histogram!(
        "bench.histogram",
        unit = "s",
        buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
    )
    .record(black_box(OBSERVATION));
}

static PROM_COUNTER: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(Opts::new("bench_prometheus_counter", "bench").const_label("k", "v"))
        .expect("register the prometheus counter")
});

static PROM_COUNTER_VEC: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!("bench_prometheus_counter_vec", "bench", &["k"])
        .expect("register the prometheus counter vec")
});

static PROM_HISTOGRAM: LazyLock<Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(HistogramOpts::new("bench_prometheus_histogram", "bench").buckets(BOUNDS.to_vec()))
        .expect("register the prometheus histogram")
});

/// `IntCounter::inc` on the `static LazyLock` users keep it in.
#[inline(never)]
fn prometheus_int_counter() {
    PROM_COUNTER.inc();
}

/// `IntCounter::inc` through a reference already in hand.
#[inline(never)]
fn prometheus_int_counter_handle(counter: &IntCounter) {
    counter.inc();
}

/// The uncached shape: the label values hashed and looked up on each update.
#[inline(never)]
fn prometheus_int_counter_vec(value: &str) {
    PROM_COUNTER_VEC.with_label_values(&[value]).inc();
}

#[inline(never)]
fn prometheus_histogram() {
    PROM_HISTOGRAM.observe(black_box(OBSERVATION));
}

/// `metrics::counter!` with a static label, as its users write it: the key is built and the recorder
/// asked for the counter on each call.
#[inline(never)]
fn metrics_counter() {
    metrics::counter!("bench.metrics.counter", "k" => "v").increment(1);
}

// ---------------------------------------------------------------------------------------------------
// the group
// ---------------------------------------------------------------------------------------------------

/// Runs `f` on two threads at once (see [`Pair`]).
fn pair_of(f: fn()) -> Pair {
    Pair::start(b::no_setup, move |iters| wall(iters, f))
}

fn metrics(c: &mut Criterion) {
    let _ = std::fs::remove_file(b::results_dir().join(ACCOUNTING));
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("install the metrics crate's Prometheus recorder");
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("null", b::Null)
        .cardinality_limit(20_000)
        .init();

    let mut g = c.benchmark_group("metrics");
    g.bench_function("plain", |bench| bench.iter(plain));

    // Instrumented functions.
    g.bench_function("telem_counted", |bench| bench.iter(telem_counted));
    g.bench_function("telem_counted_duration", |bench| bench.iter(telem_counted_duration));
    g.bench_function("telem_span", |bench| bench.iter(telem_span));

    // A counter with literal labels, at the call site.
    g.bench_function("telem_counter", |bench| bench.iter(telem_counter));
    let handle = telem::counter!("bench.counter", k = "v");
    g.bench_function("telem_counter_handle", |bench| bench.iter(|| telem_counter_handle(black_box(handle))));
    g.bench_function("prometheus_int_counter", |bench| bench.iter(prometheus_int_counter));
    let prom: &IntCounter = &PROM_COUNTER;
    g.bench_function("prometheus_int_counter_handle", |bench| {
        bench.iter(|| prometheus_int_counter_handle(black_box(prom)))
    });
    g.bench_function("metrics_counter", |bench| bench.iter(metrics_counter));

    // Label values known at run time.
    let value = String::from("dynamic");
    g.bench_function("telem_counter_dynamic", |bench| bench.iter(|| telem_counter_dynamic(black_box(&value))));
    g.bench_function("prometheus_int_counter_vec", |bench| {
        bench.iter(|| prometheus_int_counter_vec(black_box(value.as_str())))
    });

    // Histograms.
    g.bench_function("telem_histogram", |bench| bench.iter(telem_histogram));
    g.bench_function("prometheus_histogram", |bench| bench.iter(prometheus_histogram));

    // Two threads updating one counter.
    for (name, f) in [
        ("plain_2threads", plain as fn()),
        ("telem_counter_2threads", telem_counter),
        ("prometheus_int_counter_2threads", prometheus_int_counter),
    ] {
        let pair = pair_of(f);
        g.bench_function(name, |bench| bench.iter_custom(|iters| pair.run(iters)));
    }

    // The exposition of 10 000 series of one counter.
    for id in 0..RENDER_SERIES {
        telem::counter!("bench.render", id = id).add(1);
    }
    let registry = Registry::new();
    let vec = IntCounterVec::new(Opts::new("bench_render", "bench"), &["id"]).expect("a counter vec");
    registry.register(Box::new(vec.clone())).expect("register the render counter vec");
    for id in 0..RENDER_SERIES {
        vec.with_label_values(&[id.to_string().as_str()]).inc();
    }
    for id in 0..RENDER_SERIES {
        metrics::counter!("bench.render", "id" => id.to_string()).increment(1);
    }
    check_render(&telem::metrics::render(), "bench_render_total{");
    check_render(&prometheus_text(&registry), "bench_render{");
    check_render(&recorder.render(), "bench_render{");
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("telem_render_10k", |bench| bench.iter(|| black_box(telem::metrics::render())));
    g.bench_function("prometheus_render_10k", |bench| bench.iter(|| black_box(prometheus_text(&registry))));
    g.bench_function("metrics_render_10k", |bench| bench.iter(|| black_box(recorder.render())));
    g.finish();

    b::telem_stop_into(telem, "criterion run, group metrics (telem running for the whole group)", ACCOUNTING);
}

/// The prometheus crate's text exposition of `registry`, as a `String` like the other two.
fn prometheus_text(registry: &Registry) -> String {
    let mut out = Vec::with_capacity(1 << 20);
    prometheus::TextEncoder::new().encode(&registry.gather(), &mut out).expect("encode the registry");
    String::from_utf8(out).expect("the text format is UTF-8")
}

/// Panics unless the exposition holds all the render series (none went to an overflow series).
fn check_render(text: &str, prefix: &str) {
    let series = text.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(series, RENDER_SERIES, "{prefix}…: {series} series in the exposition, expected {RENDER_SERIES}");
    eprintln!("[telem-bench] exposition with {series} `{prefix}…` series: {} bytes", text.len());
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .without_plots()
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = metrics }
criterion_main!(benches);

//! `#[telem::span]` with telem compiled out, and a plain call in the same process, written into the
//! criterion group `spans` next to the main suite's cases (`telem_compiled_out`, `plain_compiled_out`).

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use telem_bench_compiled_out as b;

fn spans(c: &mut Criterion) {
    let _telem = b::start_and_check();
    let mut g = c.benchmark_group("spans");
    g.bench_function("plain_compiled_out", |bench| bench.iter(b::plain));
    g.bench_function("telem_compiled_out", |bench| bench.iter(b::telem_span));
    g.finish();
}

/// The same settings as the main suite (`telem-bench/benches/spans.rs`).
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .without_plots()
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = spans }
criterion_main!(benches);

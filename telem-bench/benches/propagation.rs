//! W3C Trace Context propagation, telem next to the OpenTelemetry SDK's `TraceContextPropagator`, in
//! one criterion group (`propagation`) so the ratios come from one run.
//!
//! - `*_inject`: the current context (a remote parent attached, as a server continuing a request
//!   would have) written into a new `HashMap<String, String>`: `Context::current()` + inject.
//! - `*_inject_reused`: the same into one map kept across calls (headers overwritten).
//! - `*_extract`: a context read from a `HashMap` holding the headers.
//!
//! Each shape runs with `traceparent` only (`_tp`) and with `traceparent` + a two-member `tracestate`
//! (`_ts`). Neither side records spans: only propagation is measured.

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;
use telem::propagation;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACESTATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

fn headers(tracestate: bool) -> HashMap<String, String> {
    let mut h = HashMap::new();
    h.insert("traceparent".to_string(), TRACEPARENT.to_string());
    if tracestate {
        h.insert("tracestate".to_string(), TRACESTATE.to_string());
    }
    // A few unrelated headers, as a request has.
    for (k, v) in [("content-type", "application/json"), ("accept", "*/*"), ("user-agent", "bench/1.0")] {
        h.insert(k.to_string(), v.to_string());
    }
    h
}

fn propagation_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("propagation");
    let otel = TraceContextPropagator::new();
    for (suffix, with_state) in [("tp", false), ("ts", true)] {
        let incoming = headers(with_state);

        let ctx = propagation::extract(&incoming).expect("valid headers");
        {
            let _attached = ctx.attach();
            g.bench_function(format!("telem_inject_{suffix}"), |b| {
                b.iter(|| {
                    let mut out = HashMap::new();
                    propagation::inject(&telem::Context::current().unwrap(), &mut out);
                    out
                })
            });
            let mut out = HashMap::new();
            g.bench_function(format!("telem_inject_reused_{suffix}"), |b| {
                b.iter(|| propagation::inject(&telem::Context::current().unwrap(), black_box(&mut out)))
            });
        }
        g.bench_function(format!("telem_extract_{suffix}"), |b| b.iter(|| propagation::extract(black_box(&incoming))));

        let cx = otel.extract(&incoming);
        {
            let _attached = cx.attach();
            g.bench_function(format!("otel_inject_{suffix}"), |b| {
                b.iter(|| {
                    let mut out = HashMap::new();
                    otel.inject_context(&opentelemetry::Context::current(), &mut out);
                    out
                })
            });
            let mut out = HashMap::new();
            g.bench_function(format!("otel_inject_reused_{suffix}"), |b| {
                b.iter(|| otel.inject_context(&opentelemetry::Context::current(), black_box(&mut out)))
            });
        }
        g.bench_function(format!("otel_extract_{suffix}"), |b| b.iter(|| otel.extract(black_box(&incoming))));
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .without_plots()
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = propagation_group }
criterion_main!(benches);

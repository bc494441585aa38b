//! Calls one case's function N times, for counting instructions under callgrind:
//!
//! ```text
//! callgrind_span <case> <N>
//! ```
//!
//! Cases: plain, floor, telem, telem_flow3, telem_unsampled, telem_disabled, fastrace, tracing_no_subscriber, tracing_registry,
//! otel_sdk, tracing_otel (the compiled-out cases are in `compiled-out/`'s `callgrind_compiled_out`);
//! events (one event per call, the functions of the criterion group `events`): telem_event2 (two scalar
//! fields, the loop under one entered span), telem_event2_outside (no span), telem_event_below (debug,
//! below the default minimum level), tracing_fmt_event, tracing_fmt_below (registry + fmt layer into a
//! sink), log_event, log_below (env_logger into a sink).
//! `callgrind.sh` runs it with N and 2N and reports (Ir(2N) − Ir(N)) / N, so start-up, shutdown and
//! every other fixed cost cancel out. Telem and fastrace are shut down / flushed before exit, so the
//! whole-process count includes draining and exporting every span; so is the OpenTelemetry provider.
//! telem and OpenTelemetry keep every span of the run (a ring / batch queue that holds them all, each
//! run checks that nothing was dropped): valgrind runs one thread at a time, so their background
//! threads may not run during the loop, and with default sizes most spans would take the cheaper drop
//! path.

use std::hint::black_box;
use telem_bench as b;

/// The measured loop; `callgrind.sh` reads its inclusive cost for the calling-thread figure.
#[inline(never)]
fn hot_loop(n: u64, f: fn()) {
    for _ in 0..black_box(n) {
        f();
    }
}

/// The same for fastrace, whose calls run under sampled roots of 1 000.
#[inline(never)]
fn hot_loop_fastrace(n: u64) {
    b::fastrace_loop(black_box(n), 1, b::fastrace_span);
}

/// The same for the OpenTelemetry SDK, whose spans need the tracer.
#[inline(never)]
fn hot_loop_otel(n: u64, tracer: &opentelemetry_sdk::trace::Tracer) {
    for _ in 0..black_box(n) {
        b::otel_span(tracer);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(case), Some(n)) = (args.next(), args.next().and_then(|n| n.replace('_', "").parse::<u64>().ok())) else {
        eprintln!("usage: callgrind_span <case> <N>");
        std::process::exit(2);
    };
    match case.as_str() {
        "plain" => hot_loop(n, b::plain),
        "floor" => hot_loop(n, b::floor),
        "telem" => {
            // A ring that holds every span of the run: valgrind runs one thread at a time, so with the
            // default ring the collector would seldom run during the loop and most spans would take the
            // drop path. Here every span takes the store path, and `shutdown` drains them all.
            let telem = b::telem_start_holding(n);
            hot_loop(n, b::telem_span);
            assert!(telem.shutdown(), "telem did not drain");
            let stats = telem::stats();
            assert_eq!(stats.recorded, n, "every span recorded");
            assert_eq!(stats.ring_dropped, 0, "no span dropped");
            eprintln!("telem stats: {stats:?}");
        }
        "telem_flow3" | "telem_unsampled" => {
            // As `telem` (a ring that holds every span); the flow records four spans per call, the
            // unsampled case none.
            let flow = case == "telem_flow3";
            let telem = if flow { b::telem_start_holding(4 * n) } else { b::telem_start_unsampled() };
            hot_loop(n, if flow { b::telem_flow3 } else { b::telem_span });
            assert!(telem.shutdown(), "telem did not drain");
            let stats = telem::stats();
            assert_eq!(stats.recorded, if flow { 4 * n } else { 0 });
            assert_eq!(stats.ring_dropped, 0, "no span dropped");
        }
        "telem_event2" | "telem_event2_outside" => {
            // A ring that holds every event (rings are per signal, each of the builder's capacity); the
            // span of `telem_event2` is opened and entered before the measured loop, so the loop counts
            // the event alone.
            let telem = b::telem_start_holding(n + 1);
            if case == "telem_event2" {
                b::in_span(|| hot_loop(n, b::telem_event2));
            } else {
                hot_loop(n, b::telem_event2);
            }
            assert!(telem.shutdown(), "telem did not drain");
            let stats = telem::stats();
            assert_eq!(stats.events.recorded, n + 2, "every event recorded, and session.start and session.end");
            assert_eq!(stats.events.ring_dropped, 0, "no event dropped");
            assert_eq!(stats.recorded, u64::from(case == "telem_event2"), "the one span");
            eprintln!("telem stats: {stats:?}");
        }
        "telem_event_below" => {
            let telem = b::telem_start_holding(1);
            hot_loop(n, b::telem_event_below);
            assert!(telem.shutdown(), "telem did not drain");
            assert_eq!(telem::stats().events.recorded, 2, "below the level: nothing but session.start and session.end");
        }
        "tracing_fmt_event" | "tracing_fmt_below" => {
            let _default = tracing::dispatcher::set_default(&b::tracing_fmt_sink());
            hot_loop(n, if case == "tracing_fmt_event" { b::tracing_event2 } else { b::tracing_event_below });
        }
        "log_event" | "log_below" => {
            b::env_logger_sink();
            hot_loop(n, if case == "log_event" { b::log_event2 } else { b::log_event_below });
        }
        "telem_disabled" => {
            let _telem = b::telem_start_disabled();
            hot_loop(n, b::telem_span);
        }
        "fastrace" => {
            b::fastrace_start();
            hot_loop_fastrace(n);
            fastrace::flush();
        }
        "tracing_no_subscriber" => hot_loop(n, b::tracing_span),
        "tracing_registry" => {
            let _default = tracing::dispatcher::set_default(&b::tracing_registry());
            hot_loop(n, b::tracing_span);
        }
        "otel_sdk" => {
            let provider = b::otel_provider_with_queue(2 * n as usize);
            hot_loop_otel(n, &b::otel_tracer(&provider));
            let _ = provider.shutdown();
            let exported = b::OTEL_EXPORTED.load(std::sync::atomic::Ordering::Relaxed);
            assert_eq!(exported, n, "every span exported");
        }
        "tracing_otel" => {
            let provider = b::otel_provider_with_queue(2 * n as usize);
            {
                let _default = tracing::dispatcher::set_default(&b::tracing_otel(&provider));
                hot_loop(n, b::tracing_span);
            }
            let _ = provider.shutdown();
            let exported = b::OTEL_EXPORTED.load(std::sync::atomic::Ordering::Relaxed);
            assert_eq!(exported, n, "every span exported");
        }
        other => {
            eprintln!("unknown case `{other}`");
            std::process::exit(2);
        }
    }
}

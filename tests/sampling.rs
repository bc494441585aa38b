//! Head sampling (decided at the root, carried in the sampled flag), the keep-errors tail rule, and
//! spans the caller measured (`telem::record`), end to end through the memory exporter.

mod common;

use common::{assert_child, one};
use std::time::{Duration, SystemTime};
use telem::{Context, Sampler, TraceId};

#[telem::span]
fn root() {
    child();
}

#[telem::span]
fn child() {}

#[telem::span(err)]
fn failing() -> Result<(), String> {
    Err("card declined".into())
}

#[telem::span(err)]
fn checkout(fail: bool) -> Result<(), String> {
    child();
    if fail {
        failing()
    } else {
        Ok(())
    }
}

/// `recorded == exported + dropped + in_flight` for the memory exporter, now.
fn assert_accounted() -> telem::Stats {
    let stats = telem::stats();
    let m = stats.exporter("memory").expect("memory exporter");
    assert_eq!(m.recorded, m.exported + m.dropped + m.in_flight, "{stats:?}");
    stats
}

#[test]
fn ratio_sampling_keeps_a_quarter_of_the_roots_with_their_children() {
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::TraceIdRatio(0.25)));
    const ROOTS: usize = 100_000;
    for _ in 0..ROOTS {
        root();
    }
    assert!(telem.shutdown());
    let spans = memory.spans();
    let roots = spans.iter().filter(|s| s.name == "root").count();
    // Binomial(100 000, 0.25): σ ≈ 137; six σ either side.
    assert!((25_000 - 822..=25_000 + 822).contains(&roots), "{roots} of {ROOTS} roots kept");
    // A sampled root's child is sampled too, an unsampled one's is not recorded.
    assert_eq!(spans.len(), 2 * roots);
    let stats = assert_accounted();
    assert_eq!(stats.recorded, spans.len() as u64, "unsampled spans are not recorded");
    assert_eq!(stats.exporter("memory").unwrap().in_flight, 0);
    // Every kept root's trace id is one the sampler keeps.
    for span in spans.iter().filter(|s| s.name == "root") {
        assert!(Sampler::TraceIdRatio(0.25).samples(span.trace_id));
    }
}

#[test]
fn the_same_trace_id_gets_the_same_decision_every_time() {
    let sampler = Sampler::TraceIdRatio(0.5);
    let ids: Vec<TraceId> =
        (1..=2000u128).map(|i| TraceId(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834))).collect();
    let first: Vec<bool> = ids.iter().map(|&t| sampler.samples(t)).collect();
    assert!(first.iter().any(|&s| s) && first.iter().any(|&s| !s));
    assert_eq!(first, ids.iter().map(|&t| sampler.samples(t)).collect::<Vec<_>>());

    // Recorded under a remote parent with a non-parent-based sampler, the trace id alone decides, every
    // time, whatever the parent's flag says.
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::TraceIdRatio(0.5)));
    for (i, &trace) in ids.iter().take(200).enumerate() {
        for _ in 0..3 {
            let parent = Context { sampled: i % 2 == 0, ..Context::new(trace, telem::SpanId(7)) };
            telem::Span::builder("under").parent(&parent).start().end();
        }
    }
    assert!(telem.shutdown());
    let spans = memory.spans();
    for (i, &trace) in ids.iter().take(200).enumerate() {
        let n = spans.iter().filter(|s| s.trace_id == trace).count();
        assert_eq!(n, if first[i] { 3 } else { 0 }, "trace {trace}");
    }
    assert_accounted();
}

#[test]
fn parent_based_honours_the_incoming_flag_both_ways() {
    // New traces would not be sampled, yet a sampled remote parent is followed...
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::ParentBasedAlwaysOff));
    let sampled = Context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    let guard = sampled.attach();
    root();
    assert!(Context::current().unwrap().sampled);
    drop(guard);
    // ...and so is an unsampled one: nothing is recorded, and the context still propagates with
    // sampled = 0, to children and to outgoing headers.
    let unsampled = Context::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").unwrap();
    let guard = unsampled.attach();
    let inner = telem::in_span("unsampled.work", |_| Context::current().unwrap());
    assert_eq!(inner.trace_id, unsampled.trace_id);
    assert_ne!(inner.span_id, unsampled.span_id, "a child has its own id even when not recorded");
    assert!(!inner.sampled);
    assert!(inner.traceparent().ends_with("-00"), "{}", inner.traceparent());
    root();
    drop(guard);
    // A new trace under parent-based always-off: not sampled.
    root();
    assert!(telem.shutdown());
    let spans = memory.spans();
    let kept = one(&spans, "root");
    assert_eq!(kept.trace_id, sampled.trace_id);
    assert_eq!(kept.parent_id, Some(sampled.span_id));
    assert_child(one(&spans, "child"), kept);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_accounted();
}

#[test]
fn always_off_propagates_without_recording() {
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::AlwaysOff));
    let ctx = telem::in_span("off", |span| {
        assert!(!span.is_recording());
        Context::current().unwrap()
    });
    assert!(!ctx.sampled);
    root();
    assert!(telem.shutdown());
    assert!(memory.spans().is_empty());
    assert_eq!(telem::stats().recorded, 0);
}

#[test]
fn keep_errors_exports_a_failing_unsampled_trace_whole_and_drops_a_clean_one() {
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::TraceIdRatio(0.0)).keep_errors(64));
    let _ = checkout(false);
    let _ = checkout(true);
    telem::flush();
    assert_accounted();
    assert!(telem.shutdown());
    let spans = memory.spans();
    let failed = one(&spans, "failing");
    let root = spans.iter().find(|s| s.name == "checkout" && s.trace_id == failed.trace_id).expect("root kept");
    assert_child(failed, root);
    assert_child(spans.iter().find(|s| s.name == "child").unwrap(), root);
    assert_eq!(spans.len(), 3, "only the failing trace, whole: {spans:#?}");
    assert!(spans.iter().all(|s| s.trace_id == failed.trace_id));
    let stats = assert_accounted();
    assert_eq!(stats.sampled_out, 2, "the clean trace's two spans: {stats:?}");
    assert_eq!(stats.recorded, 3);
    assert_eq!(stats.exporter("memory").unwrap().in_flight, 0);
}

#[test]
fn keep_errors_spans_on_other_threads_still_count() {
    // The failing span ends on another thread, before the root ends: the trace is still kept whole.
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::AlwaysOff).keep_errors(8));
    telem::in_span("job", |_| {
        let ctx = Context::current().unwrap();
        std::thread::spawn(move || {
            let _g = ctx.attach();
            child();
            let _ = failing();
        })
        .join()
        .unwrap();
    });
    assert!(telem.shutdown());
    let spans = memory.spans();
    let job = one(&spans, "job");
    assert_child(one(&spans, "failing"), job);
    assert_child(one(&spans, "child"), job);
    assert_accounted();
}

#[test]
fn keep_errors_memory_is_bounded_and_overflow_is_counted() {
    // Two traces held at most: three open traces at once push the oldest out, counted as dropped.
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::AlwaysOff).keep_errors(2));
    let mut open: Vec<telem::Span> =
        (0..3).map(|i| telem::Span::builder(format!("open{i}")).parent(None::<Context>).start()).collect();
    let ctxs: Vec<Context> = open.iter().map(|s| s.context().unwrap()).collect();
    for ctx in &ctxs {
        let _g = ctx.attach();
        child();
    }
    telem::flush();
    let stats = assert_accounted();
    assert_eq!(stats.tail_dropped, 1, "{stats:?}");
    for span in &mut open {
        span.set_status(telem::Status::Error("late".into()));
    }
    drop(open);
    assert!(telem.shutdown());
    let stats = assert_accounted();
    assert_eq!(stats.exporter("memory").unwrap().dropped, 1);
    // The two traces still held are exported whole (their roots failed); the first lost its child.
    assert_eq!(memory.spans().len(), 5, "{:#?}", memory.spans());
}

#[test]
fn recorded_spans_keep_the_caller_s_times_ids_and_parent() {
    let (telem, memory) = common::start();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let end = start + Duration::from_millis(250);
    let trace = TraceId(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
    let parent = telem::record(
        telem::FinishedSpan::new("imported.job", start, end)
            .trace_id(trace)
            .span_id(telem::SpanId(0x00f0_67aa_0ba9_02b7))
            .kind(telem::SpanKind::Consumer)
            .attribute("job.id", 42i64)
            .status(telem::Status::Error("timed out".into())),
    )
    .expect("running");
    assert_eq!(parent.trace_id, trace);
    telem::record(telem::FinishedSpan::new("imported.step", start, start + Duration::from_millis(10)).parent(&parent));
    // Inside a span, the current context is the default parent.
    telem::in_span("live", |_| {
        telem::record(telem::FinishedSpan::new("measured", end, start));
    });
    assert!(telem.shutdown());
    let spans = memory.spans();
    let job = one(&spans, "imported.job");
    assert_eq!((job.trace_id, job.span_id.0, job.parent_id), (trace, 0x00f0_67aa_0ba9_02b7, None));
    assert_eq!((job.start_unix_ns, job.end_unix_ns), (1_700_000_000_000_000_000, 1_700_000_000_250_000_000));
    assert_eq!(job.kind, telem::SpanKind::Consumer);
    assert_eq!(job.status, telem::Status::Error("timed out".into()));
    assert_eq!(job.attribute("job.id"), Some(&telem::Value::I64(42)));
    assert_child(one(&spans, "imported.step"), job);
    let measured = one(&spans, "measured");
    assert_child(measured, one(&spans, "live"));
    assert_eq!(measured.end_unix_ns - measured.start_unix_ns, 0, "an end before the start is a zero duration");
    assert_accounted();
}

#[test]
fn the_sampler_comes_from_the_environment_and_bad_values_name_the_variable() {
    std::env::set_var("OTEL_TRACES_SAMPLER", "traceidratio");
    std::env::set_var("OTEL_TRACES_SAMPLER_ARG", "1.5");
    let message = common::try_start().unwrap_err().to_string();
    assert!(message.contains("OTEL_TRACES_SAMPLER_ARG") && message.contains("1.5"), "{message}");

    std::env::set_var("OTEL_TRACES_SAMPLER", "sometimes");
    std::env::remove_var("OTEL_TRACES_SAMPLER_ARG");
    let message = common::try_start().unwrap_err().to_string();
    assert!(message.contains("OTEL_TRACES_SAMPLER") && message.contains("sometimes"), "{message}");
    assert!(message.contains("parentbased_traceidratio"), "lists the accepted names: {message}");

    std::env::set_var("OTEL_TRACES_SAMPLER", "always_off");
    let (telem, memory) = common::try_start().expect("valid");
    root();
    assert!(telem.shutdown());
    assert!(memory.spans().is_empty(), "always_off from the environment");

    // The builder wins over the environment, and its values are checked by the same rule.
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::AlwaysOn));
    root();
    assert!(telem.shutdown());
    assert_eq!(memory.spans().len(), 2);
    let err = telem::Builder::new().sampler(Sampler::ParentBasedTraceIdRatio(-0.1)).try_init().unwrap_err();
    assert!(err.to_string().contains("Builder::sampler"), "{err}");
}

/// A flow whose `charge` step fails when asked to.
#[telem::flow(err)]
fn pay(fail: bool) -> Result<u32, String> {
    #[step("validate")]
    let amount = 42;
    #[step("charge")]
    if fail {
        Err::<(), String>("declined".into())?;
    }
    #[step("receipt")]
    child();
    Ok(amount)
}

#[test]
fn keep_errors_with_ratio_zero_exports_a_flow_with_a_failing_step_whole() {
    let (telem, memory) = common::start_with(|b| b.sampler(Sampler::TraceIdRatio(0.0)).keep_errors(16));
    for _ in 0..5 {
        assert_eq!(pay(false), Ok(42));
    }
    assert!(pay(true).is_err());
    for _ in 0..5 {
        assert_eq!(pay(false), Ok(42));
    }
    assert!(telem.shutdown());
    let spans = memory.spans();
    let root = one(&spans, "pay");
    assert!(root.status != telem::Status::Unset, "the failing flow's root: {root:?}");
    let validate = one(&spans, "validate");
    let charge = one(&spans, "charge");
    assert_child(validate, root);
    assert_child(charge, root);
    assert_eq!(charge.status, telem::Status::Error("declined".into()));
    assert_eq!(spans.len(), 3, "the failing flow whole (the receipt step never ran), no clean one: {spans:#?}");
    let stats = assert_accounted();
    assert_eq!(stats.sampled_out, 10 * 5, "ten clean flows of five spans each (the receipt step calls `child`)");
    assert_eq!(stats.exporter("memory").unwrap().in_flight, 0);
}

//! Metrics end to end through the public API: `#[counted]`, the metric macros, the exposition.
mod common;

use telem::metrics::{render, render_as, Format};

/// The value of the sample line that starts with `series` (name and labels exactly as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        let value = rest.strip_prefix(' ')?.split(' ').next()?;
        value.parse().ok()
    })
}

#[telem::counted]
fn checked(i: u64) -> Result<u64, String> {
    if i % 3 == 0 {
        Err(format!("{i} is divisible by three"))
    } else {
        Ok(i)
    }
}

#[telem::counted(name = "never.called", labels(team = "core"))]
#[allow(dead_code)]
fn never_called() {}

#[test]
fn eight_threads_count_exactly_per_result() {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                let mut errors = 0u64;
                for i in 0..1_000_000u64 {
                    errors += checked(i).is_err() as u64;
                }
                errors
            })
        })
        .collect();
    let errors: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(errors, 8 * 333_334);
    let text = render();
    let module = module_path!();
    let ok = format!(r#"function_calls_total{{function="checked",module="{module}",result="ok"}}"#);
    let err = format!(r#"function_calls_total{{function="checked",module="{module}",result="error"}}"#);
    assert_eq!(sample(&text, &ok), Some((8_000_000 - errors) as f64), "{text}");
    assert_eq!(sample(&text, &err), Some(errors as f64), "{text}");
}

#[test]
fn a_counted_function_never_called_is_exported_at_zero() {
    let text = render();
    let module = module_path!();
    let series = format!(r#"never_called_total{{function="never_called",module="{module}",team="core"}}"#);
    assert_eq!(sample(&text, &series), Some(0.0), "{text}");
    assert!(text.contains("# TYPE never_called_total counter"), "{text}");
    let om = render_as(Format::OpenMetrics);
    assert!(om.contains("# TYPE never_called counter"), "{om}");
    assert!(om.ends_with("# EOF\n"), "{om}");
}

#[test]
fn free_metrics_with_static_and_dynamic_labels() {
    for _ in 0..3 {
        telem::counter!("api.requests", endpoint = "/chat", method = "POST").add(2);
    }
    let method = String::from("GET");
    telem::counter!("api.requests", endpoint = "/chat", method = method).add(5);
    telem::counter!("api.requests", endpoint = "/chat", method = "GET").increment();
    telem::counter!("http.responses", status = 200, cached = false).increment();
    telem::gauge!("queue.size", queue = "processing").set(42_usize);
    telem::up_down_counter!("jobs.active").add(3);
    telem::up_down_counter!("jobs.active").add(-1);
    let h = telem::histogram!("response.time", unit = "ms", buckets = [1, 10, 100], endpoint = "/chat");
    for v in [0.5, 5.0, 50.0, 500.0] {
        h.record(v);
    }
    let text = render();
    assert_eq!(sample(&text, r#"api_requests_total{endpoint="/chat",method="POST"}"#), Some(6.0), "{text}");
    assert_eq!(sample(&text, r#"api_requests_total{endpoint="/chat",method="GET"}"#), Some(6.0), "{text}");
    assert_eq!(sample(&text, r#"queue_size{queue="processing"}"#), Some(42.0), "{text}");
    assert_eq!(sample(&text, "jobs_active"), Some(2.0), "{text}");
    assert_eq!(sample(&text, r#"http_responses_total{status="200",cached="false"}"#), Some(1.0), "{text}");
    let bucket =
        |le: &str| sample(&text, &format!(r#"response_time_milliseconds_bucket{{endpoint="/chat",le="{le}"}}"#));
    assert_eq!(
        [bucket("1"), bucket("10"), bucket("100"), bucket("+Inf")],
        [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]
    );
    assert_eq!(sample(&text, r#"response_time_milliseconds_sum{endpoint="/chat"}"#), Some(555.5), "{text}");
    assert_eq!(sample(&text, r#"response_time_milliseconds_count{endpoint="/chat"}"#), Some(4.0), "{text}");
    let snapshot = h.snapshot();
    assert_eq!((snapshot.min, snapshot.max), (Some(0.5), Some(500.0)));
    assert!(text.contains("# TYPE response_time_milliseconds histogram"), "{text}");
    let om = render_as(Format::OpenMetrics);
    assert!(om.contains("# UNIT response_time_milliseconds milliseconds"), "{om}");
}

#[test]
fn label_values_are_escaped() {
    telem::counter!("escaped", path = "a\"b\\c\nd").increment();
    assert!(render().contains(r#"escaped_total{path="a\"b\\c\nd"} 1"#), "{}", render());
}

#[test]
fn a_histogram_inside_a_span_carries_its_trace_as_an_exemplar() {
    let (telem, memory) = common::start();
    let h = telem::histogram!("checkout.latency", unit = "s", buckets = [0.1, 1.0]);
    telem::in_span("checkout", |_| {
        h.record(0.25);
        telem::counter!("checkouts").increment();
    });
    assert!(telem.shutdown());
    let span = common::one(&memory.spans(), "checkout").clone();
    let om = render_as(Format::OpenMetrics);
    let exemplar = format!(r#"# {{trace_id="{}",span_id="{}"}} 0.25"#, span.trace_id, span.span_id);
    let line = om.lines().find(|l| l.starts_with(r#"checkout_latency_seconds_bucket{le="1"}"#)).expect("the bucket");
    assert!(line.contains(&exemplar), "{line}\n{om}");
    let counter = om.lines().find(|l| l.starts_with("checkouts_total ")).expect("the counter");
    assert!(counter.contains(&format!(r#"trace_id="{}""#, span.trace_id)), "{counter}");
    // The text format has no exemplars.
    assert!(!render().contains("trace_id"));
}

#[test]
fn a_million_label_values_stay_within_the_limit() {
    let rss = || {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm.split(' ').nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
    };
    for i in 0..10_000u32 {
        telem::counter!("user.logins", user = i).increment();
    }
    let after_warmup = rss();
    for i in 10_000..1_000_000u32 {
        telem::counter!("user.logins", user = i).increment();
    }
    let grown = rss().saturating_sub(after_warmup);
    assert!(grown < 16 << 20, "resident memory grew by {grown} bytes over 990 000 new label values");
    let text = render();
    let series = text.lines().filter(|l| l.starts_with("user_logins_total{")).count();
    assert_eq!(series, telem::metrics::DEFAULT_CARDINALITY_LIMIT);
    let overflow = sample(&text, r#"user_logins_total{otel_metric_overflow="true"}"#).expect("overflow series");
    assert_eq!(overflow as usize, 1_000_000 - (telem::metrics::DEFAULT_CARDINALITY_LIMIT - 1));
    assert_eq!(telem::stats().metrics.overflowed, overflow as u64);
}

#[test]
fn a_name_used_by_two_kinds_keeps_the_first() {
    telem::counter!("shared.name").add(3);
    for i in 0..3 {
        telem::gauge!("shared.name", n = i).set(9);
    }
    let text = render();
    assert!(text.contains("# TYPE shared_name_total counter\nshared_name_total 3\n"), "{text}");
    assert!(!text.contains("shared_name{"), "{text}");
}

#[test]
fn the_limit_is_configurable_per_metric() {
    let (telem, _memory) = common::start_with(|b| b.cardinality_limit(50).metric_cardinality_limit("tiny", 3));
    for i in 0..10 {
        telem::counter!("tiny", i = i).increment();
        telem::counter!("roomy", i = i).increment();
    }
    let text = render();
    assert_eq!(text.lines().filter(|l| l.starts_with("tiny_total{")).count(), 3, "{text}");
    assert_eq!(sample(&text, r#"tiny_total{otel_metric_overflow="true"}"#), Some(8.0), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("roomy_total{")).count(), 10, "{text}");
    assert!(telem.shutdown());
    let errors = match common::try_start_with(|b| b.cardinality_limit(1)) {
        Err(telem::InitError::Invalid(errors)) => errors,
        other => panic!("expected an invalid limit, got {:?}", other.map(|_| ())),
    };
    assert!(errors[0].to_string().contains("Builder::cardinality_limit"), "{}", errors[0]);
}

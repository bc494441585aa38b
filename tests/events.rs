//! Events end to end: the macros, span events and log records, fields, accounting.
mod common;

use telem::{Level, Value};

#[telem::span]
fn lookup(key: &str) -> bool {
    telem::info!("cache.miss", key = key, hit = false, n = 3; "missed {}", key);
    telem::debug!("below.the.default.level", x = 1);
    false
}

#[test]
fn events_inside_a_span_carry_its_ids_and_events_outside_carry_none() {
    let (telem, memory) = common::start();
    telem::warn!("outside", count = 2, ratio = 0.5, ok = true);
    lookup("user:123");
    assert!(telem.shutdown());
    let spans = memory.spans();
    let events = memory.events();
    assert_eq!(spans.len(), 1);
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["outside", "cache.miss"], "the debug event is below the default level");

    let outside = &events[0];
    assert_eq!(outside.level, Level::Warn);
    assert_eq!((outside.trace_id, outside.span_id), (None, None));
    assert_eq!(
        outside.fields,
        [("count".into(), Value::I64(2)), ("ratio".into(), Value::F64(0.5)), ("ok".into(), Value::Bool(true))]
    );
    assert_eq!(outside.message, None);

    let miss = &events[1];
    assert_eq!(miss.span_id, Some(spans[0].span_id));
    assert_eq!(miss.trace_id, Some(spans[0].trace_id));
    assert_eq!(miss.message.as_deref(), Some("missed user:123"));
    assert_eq!(miss.field("key"), Some(&Value::from("user:123")));
    assert_eq!(miss.field("hit"), Some(&Value::Bool(false)));
    assert_eq!(miss.field("n"), Some(&Value::I64(3)));
    assert!(miss.time_unix_ns >= spans[0].start_unix_ns && miss.time_unix_ns <= spans[0].end_unix_ns);
    assert!(miss.session_index > outside.session_index);

    let stats = telem::stats();
    assert_eq!(stats.events.recorded, 2);
    assert_eq!(stats.events.exporter("memory").unwrap().exported, 2);
}

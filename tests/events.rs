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
    let all = memory.events();
    let (sessions, events): (Vec<_>, Vec<_>) = all.iter().cloned().partition(|e| e.name.starts_with("session."));
    assert_eq!(sessions.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["session.start", "session.end"]);
    assert_eq!(sessions[0].session_index, 0);
    assert_eq!(sessions[1].session_index, all.iter().map(|e| e.session_index).max().unwrap());
    let mut indices: Vec<u64> = all.iter().map(|e| e.session_index).collect();
    indices.sort();
    assert_eq!(indices, (0..all.len() as u64).collect::<Vec<_>>(), "one index per event, none skipped");
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
    assert_eq!(stats.events.recorded, 4, "two events and the session's start and end");
    assert_eq!(stats.events.exporter("memory").unwrap().exported, 4);
}

#[derive(Debug)]
struct Outer(Middle);
#[derive(Debug)]
struct Middle(std::num::ParseIntError);

impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot load the order")
    }
}
impl std::fmt::Display for Middle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad quantity")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
impl std::error::Error for Middle {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn failure() -> Outer {
    Outer(Middle("x".parse::<u32>().unwrap_err()))
}

#[telem::span]
fn records_it() {
    telem::record_error(&failure());
}

#[telem::span(err)]
fn returns_it() -> Result<(), Outer> {
    Err(failure())
}

#[telem::span]
fn panics() {
    panic!("boom {}", 7);
}

#[test]
fn errors_become_exception_events_with_their_whole_chain() {
    let (telem, memory) = common::start();
    records_it();
    let _ = returns_it();
    let _ = std::panic::catch_unwind(panics);
    assert!(telem.shutdown());
    let spans = memory.spans();
    let events = memory.events();
    for name in ["records_it", "returns_it"] {
        let span = spans.iter().find(|s| s.name == name).unwrap();
        assert_eq!(span.status, telem::Status::Error("cannot load the order".into()), "{name}");
        let exception: Vec<_> = events.iter().filter(|e| e.span_id == Some(span.span_id)).collect();
        assert_eq!(exception.len(), 1, "{name}: {events:?}");
        let e = exception[0];
        assert_eq!((e.name.as_str(), e.level), ("exception", Level::Error));
        assert_eq!(e.field("exception.message"), Some(&Value::from("cannot load the order")));
        assert_eq!(e.field("exception.chain"), Some(&Value::from("bad quantity: invalid digit found in string")));
        assert!(matches!(e.field("exception.type"), Some(Value::Str(t)) if t.ends_with("Outer")), "{e:?}");
    }
    let span = spans.iter().find(|s| s.name == "panics").unwrap();
    assert_eq!(span.status, telem::Status::Error("boom 7".into()));
    let e = events.iter().find(|e| e.span_id == Some(span.span_id)).expect("the panic's exception event");
    assert_eq!(e.field("exception.message"), Some(&Value::from("boom 7")));
    let location = format!("{}:", file!());
    assert!(matches!(e.field("code.location"), Some(Value::Str(l)) if l.starts_with(&location)), "{e:?}");
}

#[test]
fn eight_threads_of_events_are_accounted_for_exactly() {
    let (telem, memory) = common::start_with(|b| b.ring_capacity(1024));
    std::thread::scope(|s| {
        for t in 0..8i64 {
            s.spawn(move || {
                for i in 0..100_000i64 {
                    telem::info!("tick", thread = t, i = i);
                }
            });
        }
    });
    assert!(telem.shutdown());
    let stats = telem::stats();
    let e = stats.events.exporter("memory").unwrap();
    assert_eq!(stats.events.recorded, 800_002, "and session.start, session.end");
    assert_eq!(e.recorded, e.exported + e.dropped + e.in_flight);
    assert_eq!(e.in_flight, 0);
    assert_eq!(memory.events().len() as u64, e.exported);
}

#[test]
fn capture_records_a_panic_or_an_err_and_hands_it_back() {
    let (telem, memory) = common::start();
    let parsed: Result<u32, std::num::ParseIntError> = telem::in_span("boundary", |_| telem::capture(|| "x".parse()));
    assert!(parsed.is_err());
    let unwound = std::panic::catch_unwind(|| telem::capture(|| -> () { panic!("task died") }));
    assert_eq!(unwound.unwrap_err().downcast_ref::<&str>(), Some(&"task died"), "the unwind goes on unchanged");
    assert!(telem.shutdown());
    let events = memory.events();
    let exceptions: Vec<_> = events.iter().filter(|e| e.name == "exception").collect();
    let messages: Vec<_> = exceptions.iter().filter_map(|e| e.field("exception.message").cloned()).collect();
    assert_eq!(messages, [Value::from("invalid digit found in string"), Value::from("task died")]);
    let boundary = memory.spans().into_iter().find(|s| s.name == "boundary").unwrap();
    assert_eq!(exceptions[0].span_id, Some(boundary.span_id));
    assert!(boundary.status != telem::Status::Unset);
}

#[test]
fn new_session_ends_one_and_starts_the_next() {
    let (telem, memory) = common::start();
    telem::info!("first");
    assert!(telem::new_session());
    telem::info!("second");
    assert!(telem.shutdown());
    let events = memory.events();
    let names: Vec<_> = events.iter().map(|e| (e.name.as_str(), e.session_index)).collect();
    assert_eq!(
        names,
        [
            ("session.start", 0),
            ("first", 1),
            ("session.end", 2),
            ("session.start", 0),
            ("second", 1),
            ("session.end", 2)
        ]
    );
    let id = |i: usize| events[i].field("session.id").cloned();
    assert_eq!(id(0), id(2));
    assert_eq!(id(3), id(5));
    assert_ne!(id(0), id(3), "a new id");
}

mod db {
    pub fn query() {
        telem::debug!("db.query", rows = 3);
        telem::trace!("db.row");
    }
}

#[test]
fn telem_level_directives_choose_what_is_recorded() {
    std::env::set_var("TELEM_LEVEL", "warn,events::db=debug");
    let (telem, memory) = common::start();
    telem::info!("dropped.by.the.default");
    telem::warn!("kept");
    db::query();
    assert!(telem.shutdown());
    let names: Vec<String> =
        memory.events().into_iter().map(|e| e.name).filter(|n| !n.starts_with("session.")).collect();
    assert_eq!(names, ["kept", "db.query"]);
    assert_eq!(telem::stats().events.recorded, 4, "below the level is not recorded at all");
}

#[test]
fn an_invalid_level_names_the_variable_and_the_value() {
    std::env::set_var("TELEM_LEVEL", "loud");
    let message = common::try_start().unwrap_err().to_string();
    assert!(message.contains("TELEM_LEVEL") && message.contains("\"loud\""), "{message}");
    std::env::remove_var("TELEM_LEVEL");
    let message = telem::Builder::new().level("info,x=noisy").try_init().unwrap_err().to_string();
    assert!(message.contains("Builder::level") && message.contains("x=noisy"), "{message}");
}

//! User exporters register the same way as the built-ins, and a failing or panicking exporter loses only
//! its own batches, counted.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

static RECEIVED: AtomicUsize = AtomicUsize::new(0);

struct Counting;
impl telem::Exporter for Counting {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        RECEIVED.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}
telem::register_exporter!("counting", |_| Ok(Some(Box::new(Counting))));

struct Panicking;
impl telem::Exporter for Panicking {
    fn export(&mut self, _: &telem::Batch) -> Result<(), telem::ExportError> {
        panic!("exporter bug");
    }
}
telem::register_exporter!("panicking", |config| {
    Ok(config.exporter_switch("panicking").unwrap_or(false).then(|| Box::new(Panicking) as Box<dyn telem::Exporter>))
});

struct Failing;
impl telem::Exporter for Failing {
    fn export(&mut self, _: &telem::Batch) -> Result<(), telem::ExportError> {
        Err("collector unreachable at 127.0.0.1:9".into())
    }
}

#[telem::span]
fn work() {}

#[test]
fn registered_exporters_receive_spans_and_failures_stay_local() {
    let dir = std::env::temp_dir().join(format!("telem-test-exporters-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telem = telem::Builder::new()
        .console(telem::ConsoleMode::Off)
        .store_dir(&dir)
        .batch_size(100)
        .exporter("panicking", true)
        .with_exporter("failing", Failing)
        .try_init()
        .unwrap();
    for _ in 0..1000 {
        work();
    }
    assert!(telem::flush());
    for _ in 0..1000 {
        work();
    }
    assert!(telem.shutdown());
    let stats = telem::stats();
    assert_eq!(stats.recorded, 2000);
    let get = |name| stats.exporter(name).unwrap_or_else(|| panic!("{name} missing: {stats:?}")).clone();
    assert_eq!(RECEIVED.load(Ordering::SeqCst), 2000, "user exporter registered with register_exporter!");
    assert_eq!((get("counting").exported, get("counting").dropped), (2000, 0));
    assert_eq!((get("store").exported, get("store").dropped), (2000, 0));
    assert_eq!((get("panicking").exported, get("panicking").dropped), (0, 2000));
    assert_eq!((get("failing").exported, get("failing").dropped), (0, 2000));
    for e in &stats.exporters {
        assert_eq!(e.in_flight, 0, "{e:?}");
        assert_eq!(e.recorded, e.exported + e.dropped);
    }
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    assert_eq!(telem::store::read_file(file).unwrap().len(), 2000);
}

#[test]
fn a_stuck_exporter_holding_batches_costs_the_others_nothing() {
    // Batches share the ring segments their spans were written in; an exporter that holds batches
    // must not starve the thread's ring (a ring of 4096 spans, 50 000 spans recorded while it holds).
    let gate = common::Gate::default();
    let memory = telem::exporters::Memory::default();
    let telem = telem::Builder::new()
        .console(telem::ConsoleMode::Off)
        .exporter("store", false)
        .ring_capacity(4096)
        .flush_interval(std::time::Duration::from_millis(1))
        .queue_capacity(1 << 20)
        .with_exporter("memory", memory.clone())
        .with_exporter("stuck", gate.clone())
        .try_init()
        .unwrap();
    for round in 1..=50 {
        for _ in 0..1000 {
            work();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while memory.spans().len() < round * 1000 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let stats = telem::stats();
    assert_eq!(stats.ring_dropped, 0, "{stats:?}");
    assert_eq!(memory.spans().len(), 50_000);
    assert_eq!(gate.received(), 0);
    gate.open();
    assert!(telem.shutdown());
    let stats = telem::stats();
    let stuck = stats.exporter("stuck").unwrap();
    assert_eq!((stuck.exported, stuck.dropped), (50_000, 0));
    assert_eq!(gate.received(), 50_000);
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_console_prints_one_line_per_span_whatever_the_span_carries() {
    let out = Shared::default();
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("text", telem::exporters::Console::with_writer(telem::ConsoleMode::Text, out.clone()))
        .try_init()
        .unwrap();
    telem::in_span("two\nlines", |span| {
        span.set_attribute("note", "first\nsecond \"quoted\"");
        span.set_attribute("count", 3);
    });
    telem::Span::builder("plain").attribute("who", "ann").start().end();
    assert!(telem.shutdown());
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("[telem] two\\nlines ok "), "{}", lines[0]);
    assert!(lines[0].ends_with(r#"{note: "first\nsecond \"quoted\"", count: 3}"#), "{}", lines[0]);
    assert!(lines[1].ends_with(r#"{who: "ann"}"#), "{}", lines[1]);
}

#[test]
fn the_console_prints_events_as_text_and_as_json_lines() {
    let (text, json) = (Shared::default(), Shared::default());
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("text", telem::exporters::Console::with_writer(telem::ConsoleMode::Text, text.clone()))
        .with_exporter("json", telem::exporters::Console::with_writer(telem::ConsoleMode::Json, json.clone()))
        .try_init()
        .unwrap();
    telem::in_span("work", |_| telem::warn!("cache.miss", key = "a\nb", hit = false; "missed {}", 1));
    telem::info!("outside", n = 2);
    assert!(telem.shutdown());
    let text = String::from_utf8(text.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "two events and a span, no session lines:\n{text}");
    assert_eq!(lines[0], r#"[telem] WARN cache.miss "missed 1" {key: "a\nb", hit: false}"#);
    assert!(lines[1].starts_with("[telem] work ok "), "{text}");
    assert_eq!(lines[2], "[telem] INFO outside {n: 2}");

    let json = String::from_utf8(json.0.lock().unwrap().clone()).unwrap();
    let objects: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let miss = objects.iter().find(|o| o["name"] == "cache.miss").expect("the event line");
    let span = objects.iter().find(|o| o["name"] == "work").expect("the span line");
    assert_eq!(miss["level"], "WARN");
    assert_eq!(miss["message"], "missed 1");
    assert_eq!(miss["fields"], serde_json::json!({"key": "a\nb", "hit": false}));
    assert_eq!(miss["trace_id"], span["trace_id"]);
    assert_eq!(miss["span_id"], span["span_id"]);
    let stamp = miss["timestamp"].as_str().unwrap();
    assert!(stamp.len() == 30 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T', "RFC 3339 with ns: {stamp}");
    let outside = objects.iter().find(|o| o["name"] == "outside").unwrap();
    assert_eq!(outside["span_id"], serde_json::Value::Null);
}

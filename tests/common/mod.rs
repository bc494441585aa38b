//! Shared by the end-to-end tests. Each test starts telem for its own process: the test command runs
//! every test in a process of its own (cargo-nextest), as the runtime is process-global.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use telem::exporters::Memory;
use telem::{SpanData, SpanId};

/// An exporter that blocks in `export` until its gate opens: one far slower than the spans arrive,
/// like an exporter stuck on a dead endpoint. Clones share the gate; it counts the spans it received.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>, Arc<AtomicUsize>);

impl Gate {
    /// Lets every waiting and later batch through.
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    /// Spans received so far.
    pub fn received(&self) -> usize {
        self.1.load(Ordering::SeqCst)
    }
}

impl telem::Exporter for Gate {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        let (open, cv) = &*self.0;
        let _g = cv.wait_while(open.lock().unwrap(), |open| !*open).unwrap();
        self.1.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// Starts telem with only an in-memory exporter (console and store off).
pub fn start() -> (telem::Telem, Memory) {
    start_with(|b| b)
}

/// Like [`start`], saying why telem did not start.
pub fn try_start() -> Result<(telem::Telem, Memory), telem::InitError> {
    try_start_with(|b| b)
}

/// Like [`start_with`], saying why telem did not start.
pub fn try_start_with(
    configure: impl FnOnce(telem::Builder) -> telem::Builder,
) -> Result<(telem::Telem, Memory), telem::InitError> {
    let memory = Memory::default();
    let builder = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .exporter("prometheus", false)
        .with_exporter("memory", memory.clone());
    configure(builder).try_init().map(|telem| (telem, memory))
}

/// Like [`start`], with more settings.
pub fn start_with(configure: impl FnOnce(telem::Builder) -> telem::Builder) -> (telem::Telem, Memory) {
    try_start_with(configure).expect("telem starts")
}

/// The one span named `name`.
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "expected one span named {name}, got {found:#?}\nall: {spans:#?}");
    found[0]
}

/// Every span named `name`.
pub fn all<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// Asserts `child` hangs directly under `parent` in the same trace.
pub fn assert_child(child: &SpanData, parent: &SpanData) {
    assert_eq!(child.trace_id, parent.trace_id, "{} and {} are in different traces", child.name, parent.name);
    assert_eq!(child.parent_id, Some(parent.span_id), "{} is not a child of {}", child.name, parent.name);
}

pub fn assert_root(span: &SpanData) {
    assert_eq!(span.parent_id, None::<SpanId>, "{} should be a trace root", span.name);
}

/// A string attribute's value.
pub fn text(span: &SpanData, key: &str) -> String {
    match span.attribute(key) {
        Some(telem::Value::Str(s)) => s.to_string(),
        other => panic!("{}: attribute {key} is {other:?}", span.name),
    }
}

//! An exporter that keeps spans in memory, for tests: hand a clone to `Builder::with_exporter` and read
//! what arrived through the other.

use super::{Batch, EventData, ExportError, Exporter, SpanData};
use std::sync::{Arc, Mutex};

/// Keeps every exported span and event. Clones share the same storage.
///
/// ```
/// let memory = telem::exporters::Memory::default();
/// let telem = telem::Builder::new()
///     .exporter("console", false)
///     .exporter("store", false)
///     .with_exporter("memory", memory.clone())
///     .init();
/// telem::in_span("work", |_| {});
/// telem::flush();
/// assert_eq!(memory.spans()[0].name, "work");
/// # drop(telem);
/// ```
#[derive(Clone, Default, Debug)]
pub struct Memory(Arc<Mutex<Kept>>);

#[derive(Default, Debug)]
struct Kept {
    spans: Vec<SpanData>,
    events: Vec<EventData>,
}

impl Memory {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the spans exported so far, in arrival order.
    pub fn spans(&self) -> Vec<SpanData> {
        self.kept().spans.clone()
    }

    /// A copy of the events exported so far, in arrival order.
    pub fn events(&self) -> Vec<EventData> {
        self.kept().events.clone()
    }

    /// Forgets the spans and events exported so far.
    pub fn clear(&self) {
        let mut kept = self.kept();
        kept.spans.clear();
        kept.events.clear();
    }
}

impl Exporter for Memory {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let spans: Vec<SpanData> = batch.spans().map(|s| s.to_data()).collect();
        let events: Vec<EventData> = batch.events().map(|e| e.to_data()).collect();
        let mut kept = self.kept();
        kept.spans.extend(spans);
        kept.events.extend(events);
        Ok(())
    }
}

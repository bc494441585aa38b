//! An exporter that keeps spans in memory, for tests: hand a clone to `Builder::with_exporter` and read
//! what arrived through the other.

use super::{Batch, ExportError, Exporter, SpanData};
use std::sync::{Arc, Mutex};

/// Keeps every exported span. Clones share the same storage.
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
pub struct Memory(Arc<Mutex<Vec<SpanData>>>);

impl Memory {
    /// A copy of the spans exported so far, in arrival order.
    pub fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the spans exported so far.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Exporter for Memory {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let spans: Vec<SpanData> = batch.spans().map(|s| s.to_data()).collect();
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(spans);
        Ok(())
    }
}

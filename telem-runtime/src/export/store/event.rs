//! An event read back from the store.

use crate::events::level::Level;
use crate::ids::{SpanId, TraceId};
use crate::resource::Resource;
use crate::trace::value::Value;
use std::sync::Arc;

/// One event (a log record; made inside a span, also that span's event) as the store holds it, with
/// every field an exporter sees of it ([`EventData`](crate::EventData)). Strings that many events
/// share (service, name, module, file, thread) are `Arc<str>`: compare with `&*event.name == "cache.miss"`.
///
/// New fields may be added (the struct is `non_exhaustive`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoredEvent {
    /// The service name of the session that wrote it.
    pub service: Arc<str>,
    /// The resource of that session (service, version, environment, host, process, SDK,
    /// `session.id`), stored once per session and shared by its records; files from before format v4
    /// give only `service.name`.
    pub resource: Arc<Resource>,
    /// The event's name (`cache.miss`, a `log` target …).
    pub name: Arc<str>,
    /// The severity.
    pub level: Level,
    /// The message, if one was given.
    pub message: Option<String>,
    /// When it happened, nanoseconds since the Unix epoch.
    pub time_unix_ns: u64,
    /// The trace of the span it was made in (`None` outside any span).
    pub trace_id: Option<TraceId>,
    /// The span it was made in, whose event it is (`None` outside any span).
    pub span_id: Option<SpanId>,
    /// Whether that span's trace was sampled.
    pub sampled: bool,
    /// Its position in the session: one more per event, in the order events reached the collector.
    pub session_index: u64,
    /// The fields, in the order the call site gave them, with their types.
    pub fields: Vec<(String, Value)>,
    /// `module_path!()` where it was made.
    pub module: Arc<str>,
    /// Source file.
    pub file: Arc<str>,
    /// Source line.
    pub line: u32,
    /// Name of the thread that made it (empty if unnamed).
    pub thread: Arc<str>,
    /// Small per-process number of that thread.
    pub thread_id: u64,
}

impl StoredEvent {
    /// The field named `key`, if set (the last one wins).
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether it was made inside the span `span_id` of trace `trace_id`: one of that span's events.
    pub fn belongs_to(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.span_id == Some(span_id) && self.trace_id == Some(trace_id)
    }
}

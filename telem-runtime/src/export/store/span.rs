//! A span read back from the store.

use super::event::StoredEvent;
use crate::ids::{SpanId, TraceId};
use crate::resource::Resource;
use crate::trace::callsite::SpanKind;
use crate::trace::record::{Link, Status};
use crate::trace::value::Value;
use std::sync::Arc;

/// One span as the store holds it, with every field a session file keeps (format v4, v3 or v2, or v1 JSON lines), and its events.
/// Strings that many spans share (service, name, module, file, thread) are `Arc<str>`: compare with
/// `&*span.name == "checkout"`.
///
/// New fields may be added (the struct is `non_exhaustive`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoredSpan {
    /// The service name (`OTEL_SERVICE_NAME` or the builder's) of the session that wrote it.
    pub service: Arc<str>,
    /// The resource of that session (service, version, environment, host, process, SDK,
    /// `session.id`), stored once per session and shared by its records; files from before format v4
    /// give only `service.name`.
    pub resource: Arc<Resource>,
    /// The trace.
    pub trace_id: TraceId,
    /// This span.
    pub span_id: SpanId,
    /// The parent span, `None` for a trace root (the parent may be in another process).
    pub parent_id: Option<SpanId>,
    /// The name: the call site's, or the one given at run time.
    pub name: Arc<str>,
    /// The kind.
    pub kind: SpanKind,
    /// Start, nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_unix_ns: u64,
    /// The status, with the error's message.
    pub status: Status,
    /// The attributes: the call site's first (a step's `step.index`, `step.name`), then those set on the
    /// span, in the order they were set.
    pub attributes: Vec<(String, Value)>,
    /// The span's links, in the order they were added.
    pub links: Vec<Link>,
    /// `module_path!()` of the instrumented function; empty for manual spans.
    pub module: Arc<str>,
    /// Source file.
    pub file: Arc<str>,
    /// Source line of the function (or of the manual span's start).
    pub line: u32,
    /// Name of the thread that ended the span (empty if unnamed).
    pub thread: Arc<str>,
    /// Small per-process number of that thread.
    pub thread_id: u64,
    /// The span's events (recorded while it was current), in the order they were stored. Joined by
    /// trace and span id over everything [`read_file`](super::read_file) or [`read_dir`](super::read_dir)
    /// read; empty for spans a [`Reader`](super::Reader) streams (an event may come later in the file
    /// than its span) and for format v1.
    pub events: Vec<StoredEvent>,
}

impl StoredSpan {
    /// `end_unix_ns - start_unix_ns`.
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_ns.saturating_sub(self.start_unix_ns)
    }

    /// The attribute named `key`, if set (the last one set wins).
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether the status is error.
    pub fn is_error(&self) -> bool {
        matches!(self.status, Status::Error(_))
    }
}

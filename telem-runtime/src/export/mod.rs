//! What exporters see and implement: [`Batch`], [`SpanRef`], the [`Exporter`] trait, and the
//! registration that makes an exporter known to [`crate::init`].

#[cfg(feature = "console")]
pub mod console;
mod events;
#[cfg(any(feature = "console", feature = "store"))]
pub(crate) mod json;
pub mod memory;
#[cfg(feature = "store")]
pub mod store;

use crate::clock::Converter;
use crate::collect::local::ThreadInfo;
use crate::collect::ring::Run;
use crate::config::Config;
use crate::ids::{SpanId, TraceId};
use crate::trace::callsite::SpanKind;
use crate::trace::record::{Link, Record, Status};
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;

/// A destination for finished spans and events. Each exporter runs on its own thread, so a slow one
/// never holds up the application or the other exporters; a batch it fails (or panics) on is counted
/// as dropped for it alone (its spans and its events).
pub trait Exporter: Send + 'static {
    /// Receives one batch of finished spans ([`Batch::spans`]) and events ([`Batch::events`]).
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError>;

    /// Makes everything exported so far durable or visible (called by `telem::flush()`).
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Called once when telem shuts down, after the last batch.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}

/// Why an exporter failed.
#[derive(Debug)]
pub struct ExportError(pub String);

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportError {}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        ExportError(e.to_string())
    }
}

impl From<String> for ExportError {
    fn from(e: String) -> Self {
        ExportError(e)
    }
}

impl From<&str> for ExportError {
    fn from(e: &str) -> Self {
        ExportError(e.to_owned())
    }
}

/// How an exporter is made from the configuration: returns `Ok(None)` when it is switched off.
pub type BuildFn = fn(&Config) -> Result<Option<Box<dyn Exporter>>, ExportError>;

/// An exporter known to telem. Built-in and user exporters register the same way, with
/// `telem::register_exporter!`, and `init` builds every registered exporter that is switched on.
pub struct ExporterRegistration {
    /// Unique name, used in stats, in `Builder::exporter(name, on)` and in error messages.
    pub name: &'static str,
    /// Makes the exporter.
    pub build: BuildFn,
}

impl ExporterRegistration {
    /// Used by `telem::register_exporter!`.
    pub const fn new(name: &'static str, build: BuildFn) -> Self {
        ExporterRegistration { name, build }
    }
}

inventory::collect!(ExporterRegistration);

/// Every registered exporter.
pub fn registered() -> impl Iterator<Item = &'static ExporterRegistration> {
    inventory::iter::<ExporterRegistration>.into_iter()
}

pub use events::{EventData, EventRef, Fields};

/// Records taken from one thread's ring.
pub(crate) struct Chunk {
    pub thread: ThreadInfo,
    pub run: Run,
    /// For events: the session index of the run's first event.
    pub index: u64,
}

/// A batch of finished spans and of events, shared by all exporters. Both are kept in their compact
/// recorded form (in the very ring segments their threads wrote) and decoded on access through
/// [`SpanRef`] and [`EventRef`].
pub struct Batch {
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) events: Vec<Chunk>,
    pub(crate) clock: Converter,
    pub(crate) resource: std::sync::Arc<crate::resource::Resource>,
    pub(crate) len: usize,
    pub(crate) events_len: usize,
}

impl Batch {
    /// Number of spans.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Number of events.
    pub fn events_len(&self) -> usize {
        self.events_len
    }

    /// Spans and events.
    pub(crate) fn items(&self) -> usize {
        self.len + self.events_len
    }

    /// True when it holds neither spans nor events.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.events_len == 0
    }

    /// The events (log records; those made inside a span are that span's events too), in the order
    /// each thread recorded them.
    pub fn events(&self) -> impl Iterator<Item = EventRef<'_>> {
        self.events.iter().flat_map(move |c| {
            c.run
                .records()
                .iter()
                .enumerate()
                .map(move |(i, record)| EventRef::new(record, c.thread, &self.clock, c.index + i as u64))
        })
    }

    /// The id of the session the batch belongs to (random, 128 bits; 32 hex digits in the
    /// `session.id` resource attribute).
    pub fn session_id(&self) -> u128 {
        self.resource.session_id()
    }

    /// The service name (`service.name` of the resource: the builder's, `OTEL_SERVICE_NAME`, a
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else the executable's name).
    pub fn service_name(&self) -> &str {
        self.resource.service_name()
    }

    /// Who recorded the batch: service, version, environment, host, OS, process, SDK and `session.id`.
    /// The same `Arc` for every batch of a session, so an exporter that sends the resource once per
    /// session can compare with [`Arc::ptr_eq`].
    pub fn resource(&self) -> &std::sync::Arc<crate::resource::Resource> {
        &self.resource
    }

    /// The spans, in the order each thread ended them.
    pub fn spans(&self) -> impl Iterator<Item = SpanRef<'_>> {
        self.chunks.iter().flat_map(move |c| {
            c.run.records().iter().map(move |record| SpanRef { record, thread: c.thread, batch: self })
        })
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.spans()).finish()
    }
}

/// One finished span, borrowed from a [`Batch`].
#[derive(Clone, Copy)]
pub struct SpanRef<'a> {
    record: &'a Record,
    thread: ThreadInfo,
    batch: &'a Batch,
}

impl<'a> SpanRef<'a> {
    /// The trace.
    pub fn trace_id(&self) -> TraceId {
        TraceId(self.record.trace_id)
    }

    /// This span.
    pub fn span_id(&self) -> SpanId {
        SpanId(self.record.span_id)
    }

    /// The parent span, `None` for a trace root.
    pub fn parent_id(&self) -> Option<SpanId> {
        (self.record.parent_id != 0).then_some(SpanId(self.record.parent_id))
    }

    /// The name.
    pub fn name(&self) -> &'a str {
        self.record.name()
    }

    /// The kind.
    pub fn kind(&self) -> SpanKind {
        self.record.call_site().kind
    }

    /// Start, Unix nanoseconds.
    pub fn start_unix_ns(&self) -> u64 {
        match self.unix_times() {
            Some((start, _)) => start,
            None => self.batch.clock.unix_ns(self.record.start),
        }
    }

    /// Times the caller measured (`telem::record`), instead of ticks.
    fn unix_times(&self) -> Option<(u64, u64)> {
        self.record.extra.as_ref().and_then(|e| e.unix_times)
    }

    /// End, Unix nanoseconds.
    pub fn end_unix_ns(&self) -> u64 {
        self.start_unix_ns() + self.duration_ns()
    }

    /// Duration in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        match self.unix_times() {
            Some((start, end)) => end.saturating_sub(start),
            None => self.batch.clock.duration_ns(self.record.start, self.record.end),
        }
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.record.status()
    }

    /// Whether the status is error.
    pub fn is_error(&self) -> bool {
        matches!(self.record.status(), Status::Error(_))
    }

    /// The attributes: first those of the call site (a step's `step.index` and `step.name`), then
    /// those set on the span, in the order they were set.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes { fixed: self.record.call_site().attributes.iter(), set: self.record.attributes().iter() }
    }

    /// The attribute named `key`, if set (the last one set wins).
    pub fn attribute(&self, key: &str) -> Option<&'a Value> {
        let set = self.record.attributes().iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
        set.or_else(|| self.record.call_site().attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| v))
    }

    /// The span's links (OpenTelemetry span links), in the order they were added.
    pub fn links(&self) -> &'a [Link] {
        self.record.links()
    }

    /// `module_path!()` of the instrumented function; empty for manual spans.
    pub fn module(&self) -> &'static str {
        self.record.call_site().module
    }

    /// Source file.
    pub fn file(&self) -> &'static str {
        self.record.call_site().file
    }

    /// Source line.
    pub fn line(&self) -> u32 {
        self.record.call_site().line
    }

    /// The thread that ended the span.
    pub fn thread(&self) -> ThreadInfo {
        self.thread
    }

    /// The span's events that are in this batch (recorded while the span was current), in the order
    /// they were recorded. An event is in the batch of its span unless the span outlived the
    /// collector's pass that took the event: an exporter that nests events in spans keeps the others
    /// (see `Batch::events`, `EventRef::span_id`).
    pub fn events(&self) -> impl Iterator<Item = EventRef<'a>> + 'a {
        let (trace, span) = (self.record.trace_id, self.record.span_id);
        self.batch.events().filter(move |e| e.record().span_id == span && e.record().trace_id == trace)
    }
}

impl SpanRef<'_> {
    /// An owned copy, for exporters that keep spans beyond the batch.
    pub fn to_data(&self) -> SpanData {
        SpanData {
            trace_id: self.trace_id(),
            span_id: self.span_id(),
            parent_id: self.parent_id(),
            name: self.name().to_owned(),
            kind: self.kind(),
            start_unix_ns: self.start_unix_ns(),
            end_unix_ns: self.end_unix_ns(),
            status: self.status(),
            attributes: self.attributes().map(|(k, v)| (k.to_owned(), v.clone())).collect(),
            links: self.links().to_vec(),
            module: self.module(),
            file: self.file(),
            line: self.line(),
            thread: self.thread(),
        }
    }
}

/// An owned finished span (see [`SpanRef`] for the meaning of each field).
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct SpanData {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub status: Status,
    pub attributes: Vec<(String, Value)>,
    pub links: Vec<Link>,
    pub module: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub thread: ThreadInfo,
}

impl SpanData {
    /// The attribute named `key`, if set (the last one set wins).
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl fmt::Debug for SpanRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("name", &self.name())
            .field("trace_id", &self.trace_id())
            .field("span_id", &self.span_id())
            .field("parent_id", &self.parent_id())
            .field("status", &self.status())
            .field("attributes", &self.attributes().collect::<Vec<_>>())
            .field("links", &self.links())
            .finish()
    }
}

/// The attributes of a span: see [`SpanRef::attributes`].
#[derive(Clone)]
pub struct Attributes<'a> {
    fixed: std::slice::Iter<'a, (&'static str, Value)>,
    set: std::slice::Iter<'a, (Cow<'static, str>, Value)>,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self.fixed.next() {
            Some((k, v)) => Some((k, v)),
            None => self.set.next().map(|(k, v)| (&**k, v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.fixed.len() + self.set.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Attributes<'_> {}

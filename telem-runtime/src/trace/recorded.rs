//! Spans whose start and end the caller measured: imported from another tool, or timed by hand.
//! They go through the same ring, exporters and accounting as every other span.

use crate::ids::{SpanId, TraceId};
use crate::trace::callsite::SpanKind;
use crate::trace::context::Context;
use crate::trace::record::Status;
use crate::trace::span::{Span, SpanBuilder};
use crate::trace::value::Value;
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

/// A finished span to hand to [`record`]: a name, a start and an end, and optionally ids, a parent,
/// a kind, a status, attributes and links.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// # let telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
/// let end = SystemTime::now();
/// let span = telem::FinishedSpan::new("imported.job", end - Duration::from_millis(40), end)
///     .kind(telem::SpanKind::Consumer)
///     .attribute("job.id", 42)
///     .status(telem::Status::Ok);
/// let ctx = telem::record(span).expect("telem is running");
/// // Children can be recorded under it.
/// telem::record(telem::FinishedSpan::new("imported.step", end - Duration::from_millis(30), end).parent(&ctx));
/// ```
#[must_use = "hand it to telem::record"]
pub struct FinishedSpan {
    builder: SpanBuilder,
    start: SystemTime,
    end: SystemTime,
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
    status: Status,
}

impl FinishedSpan {
    /// A span named `name` that ran from `start` to `end` (an end before the start is a zero
    /// duration). Its parent is the current context unless [`FinishedSpan::parent`] says otherwise.
    #[track_caller]
    pub fn new(name: impl Into<Cow<'static, str>>, start: SystemTime, end: SystemTime) -> FinishedSpan {
        FinishedSpan { builder: Span::builder(name), start, end, trace_id: None, span_id: None, status: Status::Unset }
    }

    /// The span kind (default `internal`).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.builder = self.builder.kind(kind);
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.builder = self.builder.attribute(key, value);
        self
    }

    /// The parent: a [`Context`], a reference to one, or an `Option` of either (`None`: a trace root).
    pub fn parent(mut self, parent: impl crate::IntoParent) -> Self {
        self.builder = self.builder.parent(parent);
        self
    }

    /// Adds a link to `to` with `attributes`.
    pub fn link<K, V>(mut self, to: &Context, attributes: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<Cow<'static, str>>,
        V: Into<Value>,
    {
        self.builder = self.builder.link(to, attributes);
        self
    }

    /// The trace id of a span recorded as a trace root (imported with its own id). Under a parent the
    /// parent's trace is the span's, and this is ignored. The sampler decides by this id, as for any root.
    pub fn trace_id(mut self, trace_id: TraceId) -> Self {
        self.trace_id = (trace_id.0 != 0).then_some(trace_id);
        self
    }

    /// The span's own id (imported); default: a fresh one. Zero is not an id and is ignored.
    pub fn span_id(mut self, span_id: SpanId) -> Self {
        self.span_id = (span_id.0 != 0).then_some(span_id);
        self
    }

    /// The status (default unset).
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
}

/// Records a span the caller measured, through the same ring, exporters and accounting as every other
/// span. Returns its context (to record children under it, or to propagate), or `None` when telem is
/// not running. An unsampled span is not recorded, and its context says so.
pub fn record(span: FinishedSpan) -> Option<Context> {
    let mut open = span.builder.open(span.trace_id.map(|t| t.0));
    if !open.is_active() {
        return None;
    }
    if let Some(id) = span.span_id {
        open.id = id.0;
    }
    open.set_unix_times(unix_ns(span.start), unix_ns(span.end).max(unix_ns(span.start)));
    open.set_status(span.status);
    let context = open.context();
    open.finish();
    context
}

fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

//! The context that links spans: which trace, which parent. Thread-local, and carried across processes
//! as a W3C `traceparent` header.

use crate::collect::local::{hot, HOT};
use crate::ids::{SpanId, TraceId};
use std::fmt;

/// A position in a trace: the trace id and the span that new spans should hang under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Context {
    /// The trace.
    pub trace_id: TraceId,
    /// The parent span for spans started under this context.
    pub span_id: SpanId,
    /// The W3C `sampled` flag.
    pub sampled: bool,
}

/// Why a `traceparent` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceparentError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for TraceparentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid traceparent {:?}: {}", self.value, self.reason)
    }
}

impl std::error::Error for TraceparentError {}

impl Context {
    pub(crate) fn new(trace_id: TraceId, span_id: SpanId) -> Context {
        Context { trace_id, span_id, sampled: true }
    }

    /// The context current on this thread, if a span is current (or a context is attached).
    pub fn current() -> Option<Context> {
        let h = hot();
        let (trace, span) = (h.trace.get(), h.span.get());
        (span != 0).then(|| Context::new(TraceId(trace), SpanId(span)))
    }

    /// Makes this context current on this thread until the guard drops: spans started meanwhile become
    /// its children. This is how a trace received from another process or thread is continued.
    ///
    /// While only the attached context is current (no span of this thread started under it yet),
    /// [`current_span()`](crate::current_span) names no span: the span the context names lives
    /// elsewhere, and what would be set on it could never reach it.
    ///
    /// The guard must be dropped on the thread that attached the context (it is not `Send`).
    pub fn attach(self) -> ContextGuard {
        let h = hot();
        let before = h.replace_current((self.trace_id.0, self.span_id.0));
        let attached_before = h.attached.replace(self.span_id.0);
        ContextGuard { before, attached_before, _not_send: std::marker::PhantomData }
    }

    /// Parses a W3C Trace Context `traceparent` header value: `00-<32 hex trace id>-<16 hex parent
    /// id>-<2 hex flags>`. Future versions (not `00`, not `ff`) are accepted as the spec asks, reading
    /// the first four fields.
    pub fn from_traceparent(value: &str) -> Result<Context, TraceparentError> {
        let err = |reason| TraceparentError { value: value.to_owned(), reason };
        let trimmed = value.trim();
        let mut parts = trimmed.split('-');
        let (version, trace, span, flags) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(v), Some(t), Some(s), Some(f)) => (v, t, s, f),
            _ => return Err(err("expected four '-'-separated fields: version-traceid-parentid-flags")),
        };
        let hex2 = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex2(version) || version.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err("version must be two lowercase hex digits"));
        }
        if version == "ff" {
            return Err(err("version ff is forbidden"));
        }
        if version == "00" && parts.next().is_some() {
            return Err(err("version 00 has exactly four fields"));
        }
        let lower_hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !lower_hex(trace) || !lower_hex(span) {
            return Err(err("ids must be lowercase hex"));
        }
        let trace_id = TraceId::from_hex(trace).ok_or_else(|| err("trace id must be 32 hex digits, not all zero"))?;
        let span_id = SpanId::from_hex(span).ok_or_else(|| err("parent id must be 16 hex digits, not all zero"))?;
        if !(flags.len() == 2 && lower_hex(flags)) {
            return Err(err("flags must be two lowercase hex digits"));
        }
        let flags = u8::from_str_radix(flags, 16).map_err(|_| err("flags must be two hex digits"))?;
        Ok(Context { trace_id, span_id, sampled: flags & 1 == 1 })
    }

    /// The W3C `traceparent` header value for this context.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.sampled as u8)
    }
}

/// Restores the previous context when dropped, on the thread that attached it.
#[must_use = "the context is detached when the guard drops"]
pub struct ContextGuard {
    before: (u128, u64),
    attached_before: u64,
    /// The context is this thread's: a guard dropped on another thread would restore the wrong one.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let _ = HOT.try_with(|h| {
            h.replace_current(self.before);
            h.attached.set(self.attached_before);
        });
    }
}

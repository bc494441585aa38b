//! W3C `traceparent`: version, trace id, parent id, flags.

use crate::ids::{SpanId, TraceId};
use crate::trace::context::Context;
use std::fmt;

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
        Ok(Context { sampled: flags & 1 == 1, random: flags & 2 == 2, ..Context::new(trace_id, span_id) })
    }

    /// The W3C `traceparent` header value for this context.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.sampled as u8 | (self.random as u8) << 1)
    }
}

//! The fixed-size record a finished span becomes, and what rides along with it when needed.

use crate::trace::callsite::CallSite;
use crate::trace::value::Value;
use std::borrow::Cow;

/// The outcome of a span.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// Nothing was said (the default, as in OpenTelemetry).
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed, with a message (an error's `Display`, or the panic message).
    Error(Cow<'static, str>),
}

impl Status {
    /// Failed with the error's `Display` as the message.
    pub fn error<E: std::fmt::Display + ?Sized>(error: &E) -> Status {
        Status::Error(Cow::Owned(error.to_string()))
    }

    /// `"unset"`, `"ok"` or `"error"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Unset => "unset",
            Status::Ok => "ok",
            Status::Error(_) => "error",
        }
    }

    pub(crate) fn code(&self) -> usize {
        match self {
            Status::Unset => 0,
            Status::Ok => 1,
            Status::Error(_) => 2,
        }
    }
}

/// What a span carries beyond the fixed record: attributes, a run-time name, an error message.
/// Allocated only when one of them is set, so a plain span never allocates.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub name: Option<Cow<'static, str>>,
    pub attributes: Vec<(Cow<'static, str>, Value)>,
    pub status_message: Option<Cow<'static, str>>,
    pub links: Vec<Link>,
    /// Start and end in Unix nanoseconds, for a span measured by the caller (`telem::record`) rather
    /// than by ticks.
    pub unix_times: Option<(u64, u64)>,
    /// An event's message.
    pub message: Option<Cow<'static, str>>,
}

/// An OpenTelemetry span link: a span this one relates to, with attributes of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The linked span's trace.
    pub trace_id: crate::TraceId,
    /// The linked span.
    pub span_id: crate::SpanId,
    /// The linked context's sampled flag.
    pub sampled: bool,
    /// Attributes of the link.
    pub attributes: Vec<(Cow<'static, str>, Value)>,
}

/// Mask of the two low bits of [`Record::site`] that hold the status code. `CallSite` is 64-aligned:
/// the six low bits of its address are free (spans use four, events six: see `events::emit`).
pub(crate) const STATUS_BITS: usize = 0b11;
/// Site bit: the sampler said no; recorded only for the keep-errors rule.
pub(crate) const UNSAMPLED: usize = 0b100;
/// Site bit: the first span of its trace in this process (no parent, or a parent from elsewhere).
pub(crate) const LOCAL_ROOT: usize = 0b1000;
pub(crate) const SITE_BITS: usize = 0b11_1111;
/// Status code of an error (with its message in the `Extra`, if any).
pub(crate) const ERROR: usize = 2;
/// Status code of a span an unwind went through without its payload being seen: error "panicked",
/// recorded without allocating.
pub(crate) const PANICKED: usize = 3;

/// One finished span: exactly one 64-byte cache line, so a ring slot is written with one line store
/// and handed to the collector as one line.
#[repr(C, align(64))]
pub(crate) struct Record {
    pub trace_id: u128,
    /// `&'static CallSite` with the status code in its two low bits.
    pub site: usize,
    pub span_id: u64,
    pub parent_id: u64,
    pub start: u64,
    pub end: u64,
    pub extra: Option<Box<Extra>>,
}

const _: () = assert!(std::mem::size_of::<Record>() == 64);
const _: () = assert!(std::mem::align_of::<CallSite>() > SITE_BITS);

impl Record {
    /// Packs a call site and a status code into one word.
    #[inline(always)]
    pub fn site_word(site: &'static CallSite, status: usize) -> usize {
        site as *const CallSite as usize | status
    }

    pub fn call_site(&self) -> &'static CallSite {
        // SAFETY: `site` was made by `site_word` from a `&'static CallSite`; masking restores it.
        unsafe { &*((self.site & !SITE_BITS) as *const CallSite) }
    }

    pub fn status(&self) -> Status {
        match self.site & STATUS_BITS {
            0 => Status::Unset,
            1 => Status::Ok,
            ERROR => {
                Status::Error(self.extra.as_ref().and_then(|e| e.status_message.clone()).unwrap_or(Cow::Borrowed("")))
            }
            _ => Status::Error(Cow::Borrowed("panicked")),
        }
    }

    pub fn name(&self) -> &str {
        match self.extra.as_ref().and_then(|e| e.name.as_deref()) {
            Some(name) => name,
            None => self.call_site().name,
        }
    }

    /// Recorded only for the keep-errors rule (see `collect::tail`).
    pub fn is_unsampled(&self) -> bool {
        self.site & UNSAMPLED != 0
    }

    pub fn is_local_root(&self) -> bool {
        self.site & LOCAL_ROOT != 0
    }

    pub fn is_error(&self) -> bool {
        self.site & STATUS_BITS >= ERROR
    }

    pub fn links(&self) -> &[Link] {
        self.extra.as_ref().map(|e| &e.links[..]).unwrap_or(&[])
    }

    pub fn attributes(&self) -> &[(Cow<'static, str>, Value)] {
        self.extra.as_ref().map(|e| &e.attributes[..]).unwrap_or(&[])
    }
}

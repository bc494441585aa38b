//! Errors and panics the OpenTelemetry way: an `exception` event (`exception.type`,
//! `exception.message`, the `source()` chain, `exception.stacktrace` when a backtrace was captured) on
//! the span that failed, whose status becomes error with the message.
//!
//! Every path that fails a span goes through [`Exception::record`]: `telem::record_error`,
//! `#[span(err)]`, `Span::record_error`, `current_span().record_error`, the panic hook and the
//! `capture` helpers.

use crate::events::emit::{emit_with, Ids};
use crate::events::level::Level;
use crate::trace::callsite::CallSite;
use crate::trace::value::Value;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::borrow::Cow;
use std::error::Error;
use std::fmt;

static EXCEPTION: CallSite = CallSite::event("exception", Level::Error, "telem", file!(), line!(), &[]);

/// A failure, as an `exception` event records it.
#[derive(Debug)]
pub(crate) struct Exception {
    pub type_name: Cow<'static, str>,
    pub message: String,
    /// The messages of the error's `source()` chain, outermost first, not counting the error itself.
    pub causes: Vec<String>,
    pub stacktrace: Option<String>,
    /// Where a panic happened (`file:line:column`).
    pub location: Option<String>,
    /// Set by the panic path.
    pub escaped: bool,
}

impl Exception {
    /// An error with a `Display` and, when it is a `std::error::Error`, its sources. A backtrace is
    /// captured here when `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` ask for one.
    pub fn new<E: fmt::Display + ?Sized>(error: &E, sources: Option<&(dyn Error + 'static)>) -> Exception {
        let mut causes = Vec::new();
        let mut next = sources;
        while let Some(cause) = next {
            if causes.len() == 64 {
                break; // a cycle, or a chain no one will read
            }
            causes.push(cause.to_string());
            next = cause.source();
        }
        let backtrace = Backtrace::capture();
        Exception {
            type_name: Cow::Borrowed(std::any::type_name::<E>()),
            message: error.to_string(),
            causes,
            stacktrace: (backtrace.status() == BacktraceStatus::Captured).then(|| backtrace.to_string()),
            location: None,
            escaped: false,
        }
    }

    /// The span status message: the error's own message.
    pub fn status(&self) -> crate::Status {
        crate::Status::Error(Cow::Owned(self.message.clone()))
    }

    /// Emits the `exception` event under `ids` (the failed span), or under the current span.
    pub fn record(self, ids: Option<Ids>) {
        let mut fields: Vec<(Cow<'static, str>, Value)> = vec![
            (Cow::Borrowed("exception.type"), Value::Str(self.type_name)),
            (Cow::Borrowed("exception.message"), Value::Str(Cow::Owned(self.message))),
        ];
        if !self.causes.is_empty() {
            // One string, as `anyhow` prints a chain with `{:#}`: each cause after a colon.
            fields.push((Cow::Borrowed("exception.chain"), Value::Str(Cow::Owned(self.causes.join(": ")))));
        }
        if let Some(location) = self.location {
            fields.push((Cow::Borrowed("code.location"), Value::Str(Cow::Owned(location))));
        }
        if let Some(stacktrace) = self.stacktrace {
            fields.push((Cow::Borrowed("exception.stacktrace"), Value::Str(Cow::Owned(stacktrace))));
        }
        if self.escaped {
            fields.push((Cow::Borrowed("exception.escaped"), Value::Bool(true)));
        }
        emit_with(&EXCEPTION, fields, None, ids);
    }
}

/// Marks the current span failed with `error` and records an `exception` event on it: the error's
/// type, message and whole `source()` chain (`exception.chain`), and a backtrace when
/// `RUST_BACKTRACE` asks for one. Outside any span it is an `exception` log record alone.
///
/// ```
/// # let _telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
/// #[telem::span]
/// fn load(path: &str) -> Option<String> {
///     match std::fs::read_to_string(path) {
///         Ok(text) => Some(text),
///         Err(e) => {
///             telem::record_error(&e);
///             None
///         }
///     }
/// }
/// # load("/does/not/exist");
/// ```
pub fn record_error<E: Error + ?Sized>(error: &E) {
    if !crate::collect::local::running() {
        return;
    }
    let exception = Exception::new(error, error.source());
    let current = crate::current_span();
    current.set_status(exception.status());
    exception.record(None);
}

/// Autoref specialisation for `#[span(err)]`: `(&Caught(&e)).__telem_sources()` is the error's
/// `source()` when its type is a `std::error::Error`, else nothing.
#[doc(hidden)]
pub struct Caught<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ViaError<'a> {
    fn __telem_sources(&self) -> Option<&'a (dyn Error + 'static)>;
}

impl<'a, T: Error + ?Sized> ViaError<'a> for Caught<'a, T> {
    fn __telem_sources(&self) -> Option<&'a (dyn Error + 'static)> {
        self.0.source()
    }
}

#[doc(hidden)]
pub trait ViaDisplay<'a> {
    fn __telem_sources(&self) -> Option<&'a (dyn Error + 'static)>;
}

impl<'a, T: ?Sized> ViaDisplay<'a> for &Caught<'a, T> {
    fn __telem_sources(&self) -> Option<&'a (dyn Error + 'static)> {
        None
    }
}

//! Carrying a trace across process boundaries: W3C Trace Context (`traceparent`, `tracestate`) and
//! W3C Baggage, read from and written to any header carrier.
//!
//! [`extract`] reads an incoming request's headers into a [`Context`] to continue the trace under
//! (attach it, or give it as a span's parent); [`inject`] writes a context (usually
//! [`Context::current()`]) into an outgoing request's headers.
//!
//! ```
//! use std::collections::HashMap;
//! use telem::propagation;
//! # let telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
//! let incoming = HashMap::from([
//!     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
//!     ("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned()),
//! ]);
//! let parent = propagation::extract(&incoming).expect("a valid traceparent");
//! let _attached = parent.attach();
//! telem::in_span("handle", |_| {
//!     let mut outgoing = HashMap::new();
//!     propagation::inject_current(&mut outgoing);
//!     assert!(outgoing["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//!     assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE");
//! });
//! ```

pub mod baggage;
mod carrier;
mod traceparent;
pub mod tracestate;

pub use baggage::{Baggage, BaggageError};
pub use carrier::{Extractor, Injector};
pub use traceparent::TraceparentError;
pub use tracestate::{TraceState, TraceStateError};

use crate::trace::context::Context;
use std::fmt;

/// The W3C Trace Context header naming the parent span.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C Trace Context header with vendor data.
pub const TRACESTATE: &str = "tracestate";
/// The W3C Baggage header.
pub const BAGGAGE: &str = "baggage";

/// Writes `ctx` into `carrier`: `traceparent` always, `tracestate` and `baggage` when not empty.
///
/// `traceparent` is formatted on the stack; the carrier's `set` does whatever copying it needs.
pub fn inject(ctx: &Context, carrier: &mut impl Injector) {
    carrier.set(TRACEPARENT, traceparent::Traceparent::new(ctx).as_str());
    if let Some(state) = ctx.trace_state.as_header() {
        carrier.set(TRACESTATE, state);
    } else if !ctx.trace_state.is_empty() {
        carrier.set(TRACESTATE, &ctx.trace_state.header());
    }
    if !ctx.baggage.is_empty() {
        carrier.set(BAGGAGE, &ctx.baggage.header());
    }
}

/// Writes [`Context::current()`] into `carrier`; returns false (and writes nothing) when no context is
/// current.
pub fn inject_current(carrier: &mut impl Injector) -> bool {
    match Context::current() {
        Some(ctx) => {
            inject(&ctx, carrier);
            true
        }
        None => false,
    }
}

/// The context sent in `carrier`'s headers, to continue the trace under; `None` when there is no
/// valid `traceparent` (then a new trace starts, and `tracestate` and `baggage` are dropped with it).
///
/// As the Recommendation asks, an invalid `traceparent` (or two of them) counts as none, and an
/// invalid `tracestate` is discarded while the trace goes on. An invalid `baggage` is discarded too.
/// [`try_extract`] says why.
pub fn extract(carrier: &(impl Extractor + ?Sized)) -> Option<Context> {
    match try_extract(carrier) {
        Ok(ctx) => ctx,
        Err(e) => e.into_context(),
    }
}

/// Like [`extract`], reporting the first header found invalid. `Ok(None)`: no `traceparent` at all.
///
/// ```
/// use telem::propagation::{try_extract, PropagationError};
/// let headers = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("tracestate", "a=1,=2")];
/// let err = try_extract(&headers).unwrap_err();
/// assert_eq!(err.to_string(), "invalid tracestate \"a=1,=2\": empty key at character 4");
/// // The trace still continues, without the tracestate.
/// assert!(err.context().is_some_and(|ctx| ctx.trace_state.is_empty()));
/// ```
pub fn try_extract(carrier: &(impl Extractor + ?Sized)) -> Result<Option<Context>, PropagationError> {
    let mut values = carrier.values(TRACEPARENT);
    let Some(value) = values.next() else { return Ok(None) };
    let extra = values.count();
    if extra > 0 {
        return Err(PropagationError::RepeatedTraceparent { count: extra + 1 });
    }
    let mut ctx = Context::from_traceparent(value).map_err(PropagationError::Traceparent)?;
    let mut failed = None;
    let mut states = carrier.values(TRACESTATE).peekable();
    if states.peek().is_some() {
        match TraceState::parse_values(|| carrier.values(TRACESTATE)) {
            Ok(state) => ctx.trace_state = state,
            Err(error) => failed = Some(PropagationError::TraceState { error, context: None }),
        }
    }
    match extract_baggage(carrier) {
        Ok(baggage) => ctx.baggage = baggage,
        Err(error) => failed = failed.or(Some(PropagationError::Baggage { error, context: None })),
    }
    match failed {
        None => Ok(Some(ctx)),
        Some(PropagationError::TraceState { error, .. }) => {
            Err(PropagationError::TraceState { error, context: Some(Box::new(ctx)) })
        }
        Some(PropagationError::Baggage { error, .. }) => {
            Err(PropagationError::Baggage { error, context: Some(Box::new(ctx)) })
        }
        Some(other) => Err(other),
    }
}

/// The `baggage` in `carrier` on its own (several headers combined), for a receiver that wants it
/// without a trace: [`extract`] returns baggage only with a valid `traceparent`.
pub fn extract_baggage(carrier: &(impl Extractor + ?Sized)) -> Result<Baggage, BaggageError> {
    let mut values = carrier.values(BAGGAGE).peekable();
    if values.peek().is_none() {
        return Ok(Baggage::default());
    }
    Baggage::parse_values(|| carrier.values(BAGGAGE))
}

/// Why [`try_extract`] refused a carrier's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropagationError {
    /// The `traceparent` is invalid: a new trace starts; `tracestate` and `baggage` are dropped.
    Traceparent(TraceparentError),
    /// More than one `traceparent` header: as invalid as a bad one.
    RepeatedTraceparent {
        /// How many there were.
        count: usize,
    },
    /// The `tracestate` is invalid and was discarded; the trace continues (`context`, without it).
    TraceState {
        /// What is wrong.
        error: TraceStateError,
        /// The context extracted without the `tracestate` (always `Some` from [`try_extract`]).
        context: Option<Box<Context>>,
    },
    /// The `baggage` is invalid and was discarded; the trace continues (`context`, without it).
    Baggage {
        /// What is wrong.
        error: BaggageError,
        /// The context extracted without the baggage (always `Some` from [`try_extract`]).
        context: Option<Box<Context>>,
    },
}

impl PropagationError {
    /// The context [`extract`] continues with despite the error: `Some` when only `tracestate` or
    /// `baggage` was discarded.
    pub fn context(&self) -> Option<&Context> {
        match self {
            PropagationError::TraceState { context, .. } | PropagationError::Baggage { context, .. } => {
                context.as_deref()
            }
            _ => None,
        }
    }

    /// [`context`](Self::context), by value.
    pub fn into_context(self) -> Option<Context> {
        match self {
            PropagationError::TraceState { context, .. } | PropagationError::Baggage { context, .. } => {
                context.map(|c| *c)
            }
            _ => None,
        }
    }
}

impl fmt::Display for PropagationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropagationError::Traceparent(e) => e.fmt(f),
            PropagationError::RepeatedTraceparent { count } => {
                write!(f, "{count} traceparent headers: exactly one is allowed")
            }
            PropagationError::TraceState { error, .. } => error.fmt(f),
            PropagationError::Baggage { error, .. } => error.fmt(f),
        }
    }
}

impl std::error::Error for PropagationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PropagationError::Traceparent(e) => Some(e),
            PropagationError::RepeatedTraceparent { .. } => None,
            PropagationError::TraceState { error, .. } => Some(error),
            PropagationError::Baggage { error, .. } => Some(error),
        }
    }
}

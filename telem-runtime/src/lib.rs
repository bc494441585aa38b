//! The runtime behind the `telem` crate. Depend on `telem`, not on this crate: its public items are
//! re-exported there, and its layout may change between versions.
//!
//! The pieces, in the order a span meets them: [`clock`] ticks, per-thread state and rings (`local`,
//! `ring`), the open span (`span`, `future`), the record it becomes (`record`), the collector thread
//! (`collector`), and the exporters (`export`).

#![warn(missing_docs)]

mod callsite;
pub mod clock;
mod collector;
mod config;
mod context;
pub mod export;
mod future;
mod ids;
mod lifecycle;
mod local;
mod record;
mod ring;
mod span;
mod value;

pub use callsite::{CallSite, SpanKind};
pub use config::{Builder, Config, ConsoleMode, EnvError, InitError};
pub use context::{Context, ContextGuard, TraceparentError};
pub use export::{Batch, ExportError, Exporter, ExporterRegistration, SpanData, SpanRef};
pub use future::{with_current_context, WithContext};
pub use ids::{SpanId, TraceId};
pub use lifecycle::{flush, init, shutdown, stats, try_init, ExporterStats, Stats, Telem};
pub use local::ThreadInfo;
pub use record::Status;
pub use span::{current_span, in_span, CurrentSpan, Entered, Span, SpanBuilder};
pub use value::{ToValue, Value};

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::callsite::{CallSite, SpanKind};
    pub use crate::future::{FutureSpan, Instrumented};
    pub use crate::span::SpanGuard;
    pub use crate::value::{debug_value, ViaDebug, ViaToValue, Wrap};
    pub use inventory;

    /// Runs the body of an instrumented function as a closure the compiler knows is called once, so
    /// the body may move out of and return borrows of what it captures.
    #[inline(always)]
    pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
        body()
    }
}

//! The runtime behind the `telem` crate. Depend on `telem`, not on this crate: its public items are
//! re-exported there, and its layout may change between versions.
//!
//! The pieces, in the order a span meets them: [`clock`] ticks and `ids`; the span itself, its context
//! and the record it becomes (`trace`); the per-thread rings and the collector thread that takes them
//! (`collect`); the exporters ([`export`]); and, around them, `config` and `lifecycle` (init, flush,
//! shutdown, stats). `ARCHITECTURE.md` at the repository root describes how they fit.

#![warn(missing_docs)]

pub mod clock;
mod collect;
mod config;
pub(crate) mod events;
pub mod export;
pub mod health;
mod ids;
mod lifecycle;
pub mod metrics;
pub mod propagation;
pub(crate) mod resource;
mod trace;

pub use collect::local::ThreadInfo;
pub use config::{Builder, Config, ConfigError, ConsoleMode, InitError};
pub use events::capture::{capture, capture_fatal, capture_future, capture_future_fatal, Captured, Outcome};
pub use events::exception::record_error;
pub use events::filter::{Filter, FilterError};
pub use events::level::Level;
/// The `log` crate bridge (feature `log`).
#[cfg(feature = "log")]
pub use events::log_bridge;
/// The local store: the exporter and the reader of its session files.
#[cfg(feature = "store")]
pub use export::store;
pub use export::{
    Attributes, Batch, EventData, EventRef, ExportError, Exporter, ExporterRegistration, Fields, SpanData, SpanRef,
};
pub use ids::{SpanId, TraceId};
pub use lifecycle::{flush, init, new_session, shutdown, stats, try_init, EventStats, ExporterStats, Stats, Telem};
pub use propagation::TraceparentError;
pub use resource::Resource;
pub use trace::callsite::{CallSite, SpanKind};
pub use trace::context::{spawn, Context, ContextGuard};
pub use trace::future::{with_current_context, FutureExt, IntoParent, WithContext};
pub use trace::record::{Link, Status};
pub use trace::recorded::{record, FinishedSpan};
pub use trace::sampler::Sampler;
pub use trace::span::{current_span, in_span, CurrentSpan, Entered, Span, SpanBuilder};
pub use trace::value::{ToValue, Value};

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::events::emit::{emit, enabled as event_enabled};
    pub use crate::events::exception::{Caught, ViaDisplay, ViaError};
    pub use crate::events::level::Level;
    pub use crate::metrics::__private as metrics;
    pub use crate::trace::callsite::{CallSite, SpanKind};
    pub use crate::trace::future::{FutureSpan, Instrumented, Parent};
    pub use crate::trace::span::SpanGuard;
    pub use crate::trace::step::{CheckAny, CheckDisplay, Checked, StepAwait, StepGuard};
    pub use crate::trace::value::Value;
    pub use crate::trace::value::{debug_value, display_value, ViaDebug, ViaToValue, Wrap};
    pub use inventory;

    /// Runs the body of an instrumented function as a closure the compiler knows is called once, so
    /// the body may move out of and return borrows of what it captures.
    #[inline(always)]
    pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
        body()
    }
}

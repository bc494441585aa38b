//! # telem
//!
//! Compile-time instrumentation for Rust. Put `#[telem::span]` on a function and every call becomes a
//! span: the macro rewrites the function at compile time into calls to a small synchronous runtime that
//! stores finished spans in per-thread rings, and one collector thread hands them to exporters
//! (the console and a local binary store by default).
//!
//! ```
//! #[telem::span]
//! fn parse(input: &str) -> usize {
//!     tokenize(input).len()
//! }
//!
//! #[telem::span(fields(len = input.len()))]
//! fn tokenize(input: &str) -> Vec<&str> {
//!     input.split_whitespace().collect()
//! }
//!
//! let telem = telem::Builder::new().exporter("store", false).init();
//! assert_eq!(parse("a b c"), 3);
//! assert!(telem.shutdown()); // everything recorded was exported or counted as dropped
//! ```
//!
//! Metrics: `#[telem::counted]` counts a function's calls (and, asked, their durations and those in
//! flight); [`counter!`], [`up_down_counter!`], [`gauge!`] and [`histogram!`] are free metrics with
//! labels; [`metrics::render`] writes the Prometheus exposition, served on `TELEM_PROMETHEUS_ADDR` with
//! the `prometheus` feature; [`health::Monitor`] samples the process and records checkpoints.
//!
//! Without `telem::init()` instrumented code still runs and records no spans or events (metrics count
//! whether or not telem runs). Without the `enabled`
//! cargo feature the macros return the function unchanged and the runtime API is inline no-ops.
//!
//! ## `#[span]` options
//!
//! | option | effect |
//! |---|---|
//! | `name = "…"` | span name (default: the function's name) |
//! | `kind = internal\|server\|client\|producer\|consumer` | span kind (default `internal`) |
//! | `fields(k = expr, …)` | attributes computed on entry; `k` may be dotted (`http.method`) |
//! | `args` | record every argument with `Debug` (default: none, no formatting, no allocation) |
//! | `skip(a, b)` | with `args`: leave these arguments out |
//! | `err` | on `Err(e)`: status error with `e`'s `Display` |
//! | `ret` | record the returned value (`return` attribute) with `Debug` |
//! | `parent = expr` | the parent context: a [`Context`], `&Context`, `Option<Context>`, … ([`IntoParent`]); `None` starts a new trace |
//! | `links(expr, …)` | link the span to other contexts (each [`IntoParent`]; `None` adds nothing) |
//! | `crate = path` | where `telem` is, for crates that re-export it |
//!
//! ## Flows and steps
//!
//! [`macro@flow`] takes the same options. A flow is a span whose statements marked [`macro@step`] are
//! child spans of it: a whole pipeline in one trace, each stage timed and failing on its own.
//!
//! ```
//! #[telem::flow(name = "checkout", err)]
//! fn checkout(items: &[u32]) -> Result<u32, String> {
//!     #[step("validate")]
//!     let count = items.len();
//!     let mut total = 0;
//!     for item in items {
//!         // one span per pass, with `step.iteration`
//!         #[step(name = "price", fields(item = *item))]
//!         total += price(*item)?;
//!     }
//!     #[step] // named `checkout/step[2]`
//!     total += count as u32;
//!     Ok(total)
//! }
//! # fn price(item: u32) -> Result<u32, String> { Ok(item) }
//! # assert_eq!(checkout(&[1, 2]), Ok(5));
//! ```

#![warn(missing_docs)]

/// Records each call of the function as a span.
///
/// Works on free functions, methods (`self`, `&mut self`), trait-impl methods, generic functions,
/// `async fn`, functions returning `impl Future` (the span covers the future) and functions returning
/// `Pin<Box<dyn Future>>` (the `async_trait` shape). See the [crate docs](crate) for the options.
///
/// ```
/// #[telem::span(name = "db.query", kind = client, args, skip(password), err)]
/// fn query(user: &str, password: &str) -> Result<u32, String> {
///     if password.is_empty() { Err("no password".into()) } else { Ok(user.len() as u32) }
/// }
/// # query("ann", "pw").unwrap();
/// ```
pub use telem_macros::span;

/// Records each call of the function as a flow: a span (with every [`macro@span`] option, including
/// `parent = ` and `links(…)`) whose `#[step]` statements are child spans of it.
///
/// Called while no span is current, a flow is the root of a new trace; called inside a span, it is a
/// sub-flow in that span's trace; `parent = ctx` continues the trace `ctx` names (`None`: a new one).
///
/// `#[step]` goes on a statement of the flow's body: a `let` (its bindings stay visible after it), an
/// expression statement, a block, a loop, also inside loops and nested blocks, `if` and `match` arms.
/// Each becomes a child span, current while the statement runs:
///
/// - named `<flow>/step[<i>]`, or `#[step("name")]`, `#[step(name = "…", fields(k = v, …))]` (names
///   are unique within a flow); every span carries `step.index` (source order, from 0) and
///   `step.name`;
/// - a `?` inside the step that propagates a failure ends it with status error (the error's
///   `Display` when it has one); a panic inside it ends it with status error;
/// - inside a loop, one span per pass, with `step.iteration` counting the innermost loop's passes;
/// - in an `async fn` flow, each `.await` inside the step keeps the step current on whichever worker
///   polls, and leaves it while pending.
///
/// Closures, async blocks and items inside the flow keep their own `?` and `.await`; a `#[step]`
/// inside one is an error. Without the `enabled` feature the `#[step]` attributes are removed and the
/// function is otherwise unchanged.
///
/// ```
/// #[telem::flow(kind = server, fields(order = id))]
/// async fn order(id: u32) -> Result<u32, std::num::ParseIntError> {
///     #[step("parse")]
///     let n: u32 = "41".parse()?;
///     #[step]
///     let total = { std::future::ready(n + 1).await };
///     Ok(total + id)
/// }
/// # let _ = order(1);
/// ```
pub use telem_macros::flow;

/// Counts each call of the function as metrics, with no hand-written metric code.
///
/// - `function.calls` (a counter; Prometheus `function_calls_total`) labelled `function` (the
///   function's name) and `module` (its `module_path!()`); for a function whose return type is spelled
///   `Result` (`io::Result<T>`, `anyhow::Result<T>` …) also `result="ok"|"error"`, a panic counting
///   as `error`;
/// - `duration`: a histogram `function.calls.duration` in seconds (two clock reads per call), buckets
///   from the OpenTelemetry semantic conventions for durations, or `buckets = [0.001, 0.01, …]`;
/// - `concurrency`: an up-down counter `function.calls.concurrent` of calls in flight;
/// - `name = "…"`: another metric name (the histogram and gauge become `<name>.duration` and
///   `<name>.concurrent`); `labels(k = "v", …)`: static labels; `crate = path` as for `#[span]`.
///
/// Works on free functions, methods, trait-impl methods, `async fn` and functions returning futures
/// (the future's completion is counted; one dropped before it completes counts as `error`), also
/// together with `#[span]` or `#[flow]` in either order (the span is expanded first; the calls are
/// counted as the span's scope ends, so exemplars carry the caller's span). Every counted function is registered at start-up, so its series
/// appear at zero before the first call. A call costs one relaxed atomic add (no lock, no allocation),
/// whether or not telem is running.
///
/// ```
/// #[telem::counted(duration, labels(tier = "gold"))]
/// fn charge(cents: u64) -> Result<u64, String> {
///     if cents == 0 { Err("nothing to charge".into()) } else { Ok(cents) }
/// }
/// let _ = charge(0);
/// let _ = charge(250);
/// let text = telem::metrics::render();
/// assert!(text.contains(r#"function_calls_total{function="charge","#));
/// assert!(text.contains(r#"result="error",tier="gold"} 1"#));
/// ```
pub use telem_macros::counted;

/// Marks a statement of a [`macro@flow`] as a step. Read (and removed) by the `#[flow]` around it; on its
/// own, anywhere else, it is a compile error.
pub use telem_macros::step;

pub use telem_runtime::{
    capture, capture_fatal, capture_future, capture_future_fatal, current_span, flush, in_span, init, new_session,
    record, record_error, shutdown, spawn, stats, try_init, with_current_context, Attributes, Batch, Builder, CallSite,
    Captured, Config, ConfigError, ConsoleMode, Context, ContextGuard, CurrentSpan, Entered, EventData, EventRef,
    EventStats, ExportError, Exporter, ExporterRegistration, ExporterStats, Fields, FinishedSpan, FutureExt, InitError,
    IntoParent, Level, Link, Outcome, Resource, Sampler, Span, SpanBuilder, SpanData, SpanId, SpanKind, SpanRef, Stats,
    Status, Telem, ThreadInfo, ToValue, TraceId, TraceparentError, Value, WithContext,
};

/// The `log` crate bridge (feature `log`): `telem::init()` installs it when no other logger is set;
/// [`log_bridge::install`] does it by hand.
#[cfg(feature = "log")]
pub use telem_runtime::log_bridge;

/// Metrics: handles, the Prometheus exposition ([`metrics::render`]) and its endpoint.
pub use telem_runtime::metrics;

/// The health monitor: process gauges sampled in the background, checkpoints with velocity,
/// utilisation and a status.
pub use telem_runtime::health;

/// W3C Trace Context and Baggage across process boundaries.
pub use telem_runtime::propagation;

/// The local store's session files: read them with [`store::read_dir`], [`store::read_file`] or a
/// [`store::Reader`], with their events ([`store::read_dir_all`] for every event too; format v3, v2, and
/// the JSON lines of format v1). The format is described in the module.
#[cfg(feature = "store")]
pub use telem_runtime::store;

/// The built-in exporters, for use with [`Builder::with_exporter`] or on their own.
pub mod exporters {
    #[cfg(feature = "console")]
    pub use telem_runtime::export::console::Console;
    pub use telem_runtime::export::memory::Memory;
    #[cfg(feature = "store")]
    pub use telem_runtime::export::store::Store;
}

/// Registers an exporter so that [`init`] builds it, the way the built-in exporters are registered.
/// The build function receives the resolved [`Config`] and returns `Ok(None)` to stay off.
///
/// ```
/// struct Count(usize);
/// impl telem::Exporter for Count {
///     fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
///         self.0 += batch.len();
///         Ok(())
///     }
/// }
/// telem::register_exporter!("count", |_config| Ok(Some(Box::new(Count(0)))));
/// ```
#[macro_export]
macro_rules! register_exporter {
    ($name:expr, $build:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::ExporterRegistration::new($name, $build)
        }
    };
}

/// Records an event: a log record with a severity, a name, typed fields and an optional message;
/// made while a span is current, it is also an event of that span (carrying its trace and span ids).
///
/// `event!(level, name, key = value, …; "format {}", args…)`: the level is a constant [`Level`], the
/// name a `&'static str` constant; keys are identifiers, dotted for namespaces (`http.status = 200`);
/// values keep their type when it has a [`ToValue`] (integers, floats, booleans, strings), `%x` records
/// `x`'s `Display`, `?x` its `Debug`, and any other type is recorded with `Debug`. The message after `;`
/// takes `format!` arguments and is formatted only when the event is recorded.
///
/// An event below the minimum level (`TELEM_LEVEL` or [`Builder::level`]) costs one relaxed load and
/// evaluates none of its fields. Events go through per-thread rings like spans: no lock, and none
/// of the work of exporting on the calling thread; one whose leading fields are at most two scalars
/// and which has no message allocates nothing.
///
/// ```
/// use telem::Level;
/// # let _telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
/// let key = "user:123";
/// telem::event!(Level::Info, "cache.miss", hit = false, key = key);
/// telem::info!("order.placed", id = 7, total = 12.5; "placed order {}", 7);
/// telem::warn!("disk.low", free = %"3 GiB", path = ?std::path::Path::new("/"));
/// telem::error!("db.down"; "no connection");
/// ```
#[macro_export]
macro_rules! event {
    ($level:expr, $name:expr $(,)?) => {
        $crate::__telem_event!(@f ($level, $name) [] [])
    };
    ($level:expr, $name:expr ; $($message:tt)+) => {
        $crate::__telem_event!(@f ($level, $name) [] [] ; $($message)+)
    };
    ($level:expr, $name:expr, $($rest:tt)+) => {
        $crate::__telem_event!(@f ($level, $name) [] [] $($rest)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __telem_event {
    // Done: the call site, then the fields and message only when the event is recorded.
    (@f ($level:expr, $name:expr) [$($key:expr),*] [$($value:expr),*] $(; $($message:tt)+)?) => {{
        static __TELEM_EVENT: $crate::__private::CallSite = $crate::__private::CallSite::event(
            $name, $level, ::core::module_path!(), ::core::file!(), ::core::line!(), &[$($key),*],
        );
        if $crate::__private::event_enabled(&__TELEM_EVENT, $level) {
            #[allow(unused_imports)]
            use $crate::__private::{ViaDebug as _, ViaToValue as _};
            $crate::__private::emit(
                &__TELEM_EVENT,
                [$($value),*],
                $crate::__telem_event!(@message $($($message)+)?),
            );
        }
    }};
    (@message) => { ::core::option::Option::None };
    (@message $($message:tt)+) => { ::core::option::Option::Some(::core::format_args!($($message)+)) };
    // `key = %value`: its `Display`.
    (@f $h:tt [$($k:expr),*] [$($v:expr),*] $($key:ident).+ = % $value:expr $(, $($rest:tt)*)?) => {
        $crate::__telem_event!(@f $h [$($k,)* ::core::stringify!($($key).+)]
            [$($v,)* $crate::__private::display_value(&$value)] $($($rest)*)?)
    };
    (@f $h:tt [$($k:expr),*] [$($v:expr),*] $($key:ident).+ = % $value:expr ; $($message:tt)+) => {
        $crate::__telem_event!(@f $h [$($k,)* ::core::stringify!($($key).+)]
            [$($v,)* $crate::__private::display_value(&$value)] ; $($message)+)
    };
    // `key = ?value`: its `Debug`.
    (@f $h:tt [$($k:expr),*] [$($v:expr),*] $($key:ident).+ = ? $value:expr $(, $($rest:tt)*)?) => {
        $crate::__telem_event!(@f $h [$($k,)* ::core::stringify!($($key).+)]
            [$($v,)* $crate::__private::debug_value(&$value)] $($($rest)*)?)
    };
    (@f $h:tt [$($k:expr),*] [$($v:expr),*] $($key:ident).+ = ? $value:expr ; $($message:tt)+) => {
        $crate::__telem_event!(@f $h [$($k,)* ::core::stringify!($($key).+)]
            [$($v,)* $crate::__private::debug_value(&$value)] ; $($message)+)
    };
    // `key = value`: typed when it has a `ToValue`, else its `Debug`.
    (@f $h:tt [$($k:expr),*] [$($v:expr),*] $($key:ident).+ = $value:expr $(, $($rest:tt)*)?) => {
        $crate::__telem_event!(@f $h [$($k,)* ::core::stringify!($($key).+)]
            [$($v,)* (&$crate::__private::Wrap(&$value)).__telem_value()] $($($rest)*)?)
    };
    (@f $h:tt [$($k:expr),*] [$($v:expr),*] $($key:ident).+ = $value:expr ; $($message:tt)+) => {
        $crate::__telem_event!(@f $h [$($k,)* ::core::stringify!($($key).+)]
            [$($v,)* (&$crate::__private::Wrap(&$value)).__telem_value()] ; $($message)+)
    };
}

/// [`event!`] at [`Level::Trace`].
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::event!($crate::Level::Trace, $($arg)+) };
}

/// [`event!`] at [`Level::Debug`].
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::event!($crate::Level::Debug, $($arg)+) };
}

/// [`event!`] at [`Level::Info`]: `telem::info!("order.placed", id = 7; "placed order {}", 7)`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::event!($crate::Level::Info, $($arg)+) };
}

/// [`event!`] at [`Level::Warn`].
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::event!($crate::Level::Warn, $($arg)+) };
}

/// [`event!`] at [`Level::Error`].
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::event!($crate::Level::Error, $($arg)+) };
}

/// [`event!`] at [`Level::Critical`].
#[macro_export]
macro_rules! critical {
    ($($arg:tt)+) => { $crate::event!($crate::Level::Critical, $($arg)+) };
}

/// A monotonic counter: `telem::counter!("api.requests", endpoint = "/chat", method = "POST").add(1)`.
///
/// `counter!(name, [unit = "…",] [description = "…",] key = value, …)`: the name is a `&'static str`
/// (OpenTelemetry style, dotted: `http.server.requests`), label keys are identifiers (dotted allowed),
/// values are literals or any expression that is `Display`. With only literal values the call site
/// caches its series: an update is one relaxed atomic add. With other values the series is looked up
/// on each update (no allocation once it exists, no global lock). Each metric keeps at most its
/// cardinality limit of series (default 2000, [`Builder::cardinality_limit`]); past it updates go to
/// one series labelled `otel.metric.overflow="true"`, counted in [`Stats::metrics`]. An update made
/// inside a sampled span becomes the series' exemplar (its trace and span id, in OpenMetrics).
///
/// ```
/// let path = "/chat";
/// telem::counter!("api.requests", endpoint = "/chat", method = "POST").add(1);
/// telem::counter!("api.requests", endpoint = path, method = "GET").increment();
/// telem::counter!("bytes.sent", unit = "By", description = "Bytes written to clients").add(512);
/// ```
#[macro_export]
macro_rules! counter {
    ($($args:tt)+) => { $crate::__telem_metric!(@start CounterCell Counter $($args)+) };
}

/// A sum that goes up and down: `telem::up_down_counter!("queue.jobs", queue = "mail").add(-1)`.
/// Same arguments as [`counter!`].
#[macro_export]
macro_rules! up_down_counter {
    ($($args:tt)+) => { $crate::__telem_metric!(@start UpDownCell UpDownCounter $($args)+) };
}

/// The last value set: `telem::gauge!("queue.size", queue = "processing").set(n)` (any number).
/// Same arguments as [`counter!`].
#[macro_export]
macro_rules! gauge {
    ($($args:tt)+) => { $crate::__telem_metric!(@start GaugeCell Gauge $($args)+) };
}

/// An explicit-bucket histogram: `telem::histogram!("response.time", unit = "ms", endpoint = "/chat").record(ms)`.
///
/// Same arguments as [`counter!`], plus `buckets = [b, …]` (upper bounds, inclusive, after `unit` and
/// `description`); without it the OpenTelemetry default bounds ([`metrics::DEFAULT_BUCKETS`]). It keeps
/// the per-bucket counts, count, sum, min and max; an observation inside a sampled span becomes its
/// bucket's exemplar.
///
/// ```
/// telem::histogram!("response.time", unit = "ms", buckets = [5.0, 10.0, 50.0], endpoint = "/chat").record(7.5);
/// telem::histogram!("batch.size").record(12_u32);
/// ```
#[macro_export]
macro_rules! histogram {
    ($($args:tt)+) => { $crate::__telem_metric!(@start HistogramCell Histogram $($args)+) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __telem_metric {
    (@start $cell:ident $handle:ident $name:expr $(, $($rest:tt)*)?) => {
        $crate::__telem_metric!(@opt $cell $handle ($name) ("") ("") ($crate::__private::metrics::DEFAULT_BUCKETS) $($($rest)*)?)
    };
    (@opt $cell:ident $handle:ident $n:tt $u:tt $d:tt $b:tt unit = $unit:expr $(, $($rest:tt)*)?) => {
        $crate::__telem_metric!(@opt $cell $handle $n ($unit) $d $b $($($rest)*)?)
    };
    (@opt $cell:ident $handle:ident $n:tt $u:tt $d:tt $b:tt description = $desc:expr $(, $($rest:tt)*)?) => {
        $crate::__telem_metric!(@opt $cell $handle $n $u ($desc) $b $($($rest)*)?)
    };
    (@opt $cell:ident $handle:ident $n:tt $u:tt $d:tt $b:tt buckets = [$($bound:expr),+ $(,)?] $(, $($rest:tt)*)?) => {
        $crate::__telem_metric!(@opt $cell $handle $n $u $d (&[$($bound as f64),+]) $($($rest)*)?)
    };
    // Every value a literal: the call site caches its series.
    (@opt $cell:ident $handle:ident ($name:expr) ($unit:expr) ($desc:expr) ($bounds:expr) $($($key:ident).+ = $value:literal),* $(,)?) => {{
        static __TELEM_METRIC: $crate::__private::metrics::MetricSite<$crate::__private::metrics::$cell> =
            $crate::__private::metrics::MetricSite::new(
                $name, $unit, $desc, $bounds,
                &[$(::core::stringify!($($key).+)),*],
                ::core::option::Option::Some(&[$(::core::concat!($value)),*]),
            );
        $crate::metrics::$handle::from_cell(__TELEM_METRIC.cell())
    }};
    // Values known at run time: looked up per update.
    (@opt $cell:ident $handle:ident ($name:expr) ($unit:expr) ($desc:expr) ($bounds:expr) $($($key:ident).+ = $value:expr),* $(,)?) => {{
        static __TELEM_METRIC: $crate::__private::metrics::MetricSite<$crate::__private::metrics::$cell> =
            $crate::__private::metrics::MetricSite::new(
                $name, $unit, $desc, $bounds,
                &[$(::core::stringify!($($key).+)),*],
                ::core::option::Option::None,
            );
        #[allow(unused_imports)]
        use $crate::__private::metrics::{ViaDisplay as _, ViaStr as _};
        $crate::metrics::$handle::from_cell(
            __TELEM_METRIC.with_values(&[$((&$crate::__private::metrics::Label(&$value)).__telem_label()),*]),
        )
    }};
}

#[doc(hidden)]
pub mod __private {
    pub use telem_runtime::__private::*;
}

//! Starting, flushing, stopping, and the counters that prove nothing was lost.

use crate::collect::collector::Runtime;
use crate::collect::local::{self, ENABLED, OFF, RUNNING, STATE};
use crate::config::{Builder, InitError};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The runtime started by the last `init` (kept after shutdown so `stats()` still answers).
static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

fn runtime() -> Option<Arc<Runtime>> {
    RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Keeps telem running; dropping it flushes and drains every exporter, bounded by the shutdown timeout.
///
/// A guard belongs to the runtime its `init` started: once that runtime has stopped (through
/// [`shutdown`] or another guard), dropping the guard does nothing, even if a newer runtime runs.
#[must_use = "telem stops when this guard drops: keep it alive, e.g. `let _telem = telem::init();`"]
pub struct Telem {
    runtime: Option<Arc<Runtime>>,
}

impl std::fmt::Debug for Telem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telem").field("running", &self.runtime.as_ref().is_some_and(|rt| rt.is_running())).finish()
    }
}

impl Telem {
    /// Stops this guard's runtime now (waiting at most the configured shutdown timeout) and says
    /// whether everything it recorded was exported or counted as dropped.
    pub fn shutdown(mut self) -> bool {
        match self.runtime.take() {
            Some(rt) => rt.shutdown(rt.config.shutdown_timeout),
            None => true,
        }
    }
}

impl Drop for Telem {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown(rt.config.shutdown_timeout);
        }
    }
}

/// Starts telem from the environment and the defaults. Problems (an invalid environment variable or
/// builder value, an exporter that cannot start) are reported once on stderr and telem goes on without
/// them.
///
/// ```no_run
/// let _telem = telem::init();
/// ```
pub fn init() -> Telem {
    Builder::new().init()
}

/// Starts telem from the environment and the defaults, or says why it cannot.
pub fn try_init() -> Result<Telem, InitError> {
    Builder::new().try_init()
}

pub(crate) fn init_with(builder: Builder) -> Telem {
    start(builder, false).unwrap_or_else(|e| {
        eprintln!("[telem] {e}");
        Telem { runtime: None }
    })
}

pub(crate) fn try_init_with(builder: Builder) -> Result<Telem, InitError> {
    start(builder, true)
}

/// How long `init` waits for a runtime that another thread is shutting down to finish its final drain.
const WAIT_FOR_PREVIOUS: Duration = Duration::from_secs(10);

fn start(mut builder: Builder, strict: bool) -> Result<Telem, InitError> {
    let (config, errors) = builder.resolve(&|var| std::env::var(var).ok());
    if !errors.is_empty() {
        if strict {
            return Err(InitError::Invalid(errors));
        }
        eprintln!("[telem] {} (using the default instead)", InitError::Invalid(errors));
    }
    if !ENABLED || !config.enabled {
        return Ok(Telem { runtime: None });
    }
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(previous) = slot.as_ref() {
        if previous.is_running() {
            return Err(InitError::AlreadyRunning);
        }
        // One collector at a time: a runtime being shut down on another thread finishes its final
        // drain before this one may touch the rings.
        if !previous.wait_stopped(crate::collect::collector::Deadline::after(WAIT_FOR_PREVIOUS)) {
            return Err(InitError::AlreadyRunning);
        }
    }
    debug_assert_eq!(STATE.load(Ordering::Acquire), OFF);
    let mut exporters = Vec::new();
    for registration in crate::export::registered() {
        if config.exporter_switch(registration.name) == Some(false) {
            continue;
        }
        match (registration.build)(&config) {
            Ok(Some(exporter)) => exporters.push((registration.name.to_owned(), exporter)),
            Ok(None) => {}
            Err(error) if strict => return Err(InitError::Exporter { name: registration.name.to_owned(), error }),
            Err(error) => eprintln!("[telem] exporter `{}` could not start and is off: {error}", registration.name),
        }
    }
    exporters.append(&mut builder.instances);
    #[cfg(feature = "prometheus")]
    let endpoint = if config.exporter_switch("prometheus") == Some(false) {
        None
    } else {
        match crate::metrics::server::start(config.prometheus_addr) {
            Ok(endpoint) => Some(endpoint),
            Err(error) if strict && config.prometheus_addr_set => {
                return Err(InitError::Exporter { name: "prometheus".into(), error: crate::export::ExportError(error) })
            }
            Err(error) => {
                eprintln!("[telem] {error}; the endpoint is off (metrics::render() still works)");
                None
            }
        }
    };
    crate::metrics::install_limits(config.cardinality_limit, &config.metric_limits);
    local::RING_CAPACITY.store(config.ring_capacity, Ordering::Relaxed);
    local::BATCH_SIZE.store(config.batch_size, Ordering::Relaxed);
    let fatal_ms = config.fatal_timeout.as_millis().min(u64::MAX as u128) as u64;
    crate::trace::sampler::install(&config.sampler, config.keep_errors);
    crate::events::filter::install(config.level.clone());
    let rt = Runtime::start(config, exporters).map_err(|e| InitError::Exporter {
        name: "collector".into(),
        error: crate::export::ExportError(format!("cannot start a thread: {e}")),
    })?;
    #[cfg(feature = "prometheus")]
    if let Some(endpoint) = endpoint {
        rt.services.lock().unwrap_or_else(|e| e.into_inner()).push(Box::new(endpoint));
    }
    *slot = Some(rt.clone());
    crate::events::fatal::FATAL_TIMEOUT_MS.store(fatal_ms, Ordering::Relaxed);
    crate::events::fatal::install();
    #[cfg(feature = "log")]
    crate::events::log_bridge::init(&rt.config.level);
    STATE.store(RUNNING, Ordering::Release);
    Ok(Telem { runtime: Some(rt) })
}

/// Hands everything recorded so far to the exporters and waits (up to 5 s) until each has exported and
/// flushed it. True when all did in time. A no-op returning true when telem is not running.
pub fn flush() -> bool {
    flush_for(Duration::from_secs(5))
}

/// Ends the current session (its `session.end` event, after everything recorded so far) and starts
/// a new one with a new id (its `session.start`, session index 0 again), waiting up to 5 s for the
/// collector to do it. True when it did; false when telem is not running.
pub fn new_session() -> bool {
    match runtime() {
        Some(rt) if rt.is_running() => rt.new_session(Duration::from_secs(5)),
        _ => false,
    }
}

/// [`flush`] with its own bound.
pub(crate) fn flush_for(timeout: Duration) -> bool {
    match runtime() {
        Some(rt) if rt.is_running() => rt.flush(timeout),
        _ => true,
    }
}

/// Stops recording, drains every ring, and shuts the exporters down, waiting at most `timeout`
/// (`Duration::MAX`, or any timeout too large for the clock, waits without limit). True when every span
/// recorded was exported or counted as dropped (`in_flight == 0` for every exporter); it stays so:
/// a span that ends after the final drain is counted as dropped. True when telem is not running.
pub fn shutdown(timeout: Duration) -> bool {
    match runtime() {
        Some(rt) => rt.shutdown(timeout),
        None => true,
    }
}

/// Span counters since `init`. At every moment, for every exporter,
/// `recorded == exported + dropped + in_flight`; after `shutdown` returns true, `in_flight == 0`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Spans that started while telem was running and have ended (sampled ones, and unsampled ones the
    /// keep-errors rule has not discarded), including those that ended after shutdown.
    pub recorded: u64,
    /// Spans dropped before reaching any exporter: their thread's ring was full and could not be
    /// handed over, the thread was exiting, or the span ended after shutdown.
    pub ring_dropped: u64,
    /// Spans waiting in rings for the collector.
    pub in_rings: u64,
    /// Unsampled spans the keep-errors rule recorded and then discarded because their trace had no
    /// error: not counted in `recorded` (without the rule an unsampled span is never recorded at all).
    pub sampled_out: u64,
    /// Unsampled spans the keep-errors rule could not hold (its memory bound) before their trace was
    /// decided: counted in every exporter's `dropped`.
    pub tail_dropped: u64,
    /// One entry per exporter.
    pub exporters: Vec<ExporterStats>,
    /// The same counters for events (span events and log records), which have rings of their own.
    pub events: EventStats,
    /// The metrics registry: metrics, series, updates sent to overflow series. Metrics count for the
    /// whole process, whether or not telem runs.
    pub metrics: crate::metrics::MetricStats,
}

/// Event counters: the same equation as for spans holds for every exporter,
/// `recorded == exported + dropped + in_flight`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Events recorded while telem was running (at or above the minimum level).
    pub recorded: u64,
    /// Events dropped before reaching any exporter (full ring that could not be handed over, exiting
    /// thread, recorded after shutdown).
    pub ring_dropped: u64,
    /// Events waiting in rings for the collector.
    pub in_rings: u64,
    /// One entry per exporter (the `name`, `recorded`, `exported`, `dropped` and `in_flight` of
    /// events).
    pub exporters: Vec<ExporterStats>,
}

impl EventStats {
    /// The exporter named `name`.
    pub fn exporter(&self, name: &str) -> Option<&ExporterStats> {
        self.exporters.iter().find(|e| e.name == name)
    }
}

/// One exporter's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExporterStats {
    /// The exporter's name.
    pub name: String,
    /// Spans recorded (the same for every exporter).
    pub recorded: u64,
    /// Spans this exporter accepted.
    pub exported: u64,
    /// Spans this exporter will never see: ring drops and the keep-errors rule's overflow, plus batches
    /// it failed, panicked on, or had no room for in its queue.
    pub dropped: u64,
    /// Spans on their way: in rings, in the collector, or queued for this exporter.
    pub in_flight: u64,
}

impl Stats {
    /// The exporter named `name`.
    pub fn exporter(&self, name: &str) -> Option<&ExporterStats> {
        self.exporters.iter().find(|e| e.name == name)
    }
}

/// The counters now, for the runtime the last `init` started (all zero before any).
pub fn stats() -> Stats {
    let mut stats = runtime().map(|rt| rt.stats()).unwrap_or_default();
    stats.metrics = crate::metrics::family::stats();
    stats
}

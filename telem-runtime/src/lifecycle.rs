//! Starting, flushing, stopping, and the counters that prove nothing was lost.

use crate::collect::collector::{self, Runtime};
use crate::config::{Builder, InitError};
use crate::collect::local::{self, ENABLED, OFF, RUNNING, STATE};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The runtime started by the last `init` (kept after shutdown so `stats()` still answers).
static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

fn runtime() -> Option<Arc<Runtime>> {
    RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Keeps telem running; dropping it flushes and drains every exporter, bounded by the shutdown timeout.
#[must_use = "telem stops when this guard drops: keep it alive, e.g. `let _telem = telem::init();`"]
#[derive(Debug)]
pub struct Telem {
    active: bool,
}

impl Telem {
    /// Stops now and says whether everything recorded was exported or counted as dropped.
    pub fn shutdown(mut self) -> bool {
        self.active = false;
        shutdown(self.timeout())
    }

    fn timeout(&self) -> Duration {
        runtime().map(|rt| rt.config.shutdown_timeout).unwrap_or_default()
    }
}

impl Drop for Telem {
    fn drop(&mut self) {
        if self.active {
            shutdown(self.timeout());
        }
    }
}

/// Starts telem from the environment and the defaults. Problems (an invalid environment variable, an
/// exporter that cannot start) are reported once on stderr and telem goes on without them.
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
        Telem { active: false }
    })
}

pub(crate) fn try_init_with(builder: Builder) -> Result<Telem, InitError> {
    start(builder, true)
}

fn start(mut builder: Builder, strict: bool) -> Result<Telem, InitError> {
    let (config, env_errors) = builder.resolve(&|var| std::env::var(var).ok());
    if !env_errors.is_empty() {
        if strict {
            return Err(InitError::Env(env_errors));
        }
        eprintln!("[telem] {} (using the default instead)", InitError::Env(env_errors));
    }
    if !ENABLED || !config.enabled {
        return Ok(Telem { active: false });
    }
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if STATE.load(Ordering::Acquire) != OFF {
        return Err(InitError::AlreadyRunning);
    }
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
    local::RING_CAPACITY.store(config.ring_capacity, Ordering::Relaxed);
    local::BATCH_SIZE.store(config.batch_size, Ordering::Relaxed);
    local::install_panic_hook();
    let rt = Runtime::start(config, exporters).map_err(|e| InitError::Exporter {
        name: "collector".into(),
        error: crate::export::ExportError(format!("cannot start a thread: {e}")),
    })?;
    *slot = Some(rt);
    STATE.store(RUNNING, Ordering::Release);
    Ok(Telem { active: true })
}

/// Hands everything recorded so far to the exporters and waits (up to 5 s) until each has exported and
/// flushed it. True when all did in time. A no-op returning true when telem is not running.
pub fn flush() -> bool {
    match runtime() {
        Some(rt) if STATE.load(Ordering::Acquire) == RUNNING => rt.flush(Duration::from_secs(5)),
        _ => true,
    }
}

/// Stops recording, drains every ring, and shuts the exporters down, waiting at most `timeout`. True
/// when every span recorded was exported or counted as dropped (`in_flight == 0` for every exporter).
pub fn shutdown(timeout: Duration) -> bool {
    let Some(rt) = runtime() else { return true };
    if STATE.load(Ordering::Acquire) == RUNNING {
        rt.shutdown(timeout);
    }
    stats().exporters.iter().all(|e| e.in_flight == 0)
}

/// Span counters since `init`. At every moment, for every exporter,
/// `recorded == exported + dropped + in_flight`; after `shutdown` returns true, `in_flight == 0`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Spans that ended while telem was running.
    pub recorded: u64,
    /// Spans dropped before reaching any exporter: their thread's ring was full (or the thread was
    /// exiting, or telem had shut down, when they ended).
    pub ring_dropped: u64,
    /// Spans waiting in rings for the collector.
    pub in_rings: u64,
    /// One entry per exporter.
    pub exporters: Vec<ExporterStats>,
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
    /// Spans this exporter will never see: ring drops, plus batches it failed, panicked on, or had no
    /// room for in its queue.
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

/// The counters now.
pub fn stats() -> Stats {
    let Some(rt) = runtime() else { return Stats::default() };
    // Exporter counters first: they only grow after `recorded` has, so reading them first keeps
    // every difference below non-negative.
    let per: Vec<(String, u64, u64)> = rt
        .workers
        .iter()
        .map(|w| (w.name.clone(), w.exported.load(Ordering::Acquire), w.dropped.load(Ordering::Acquire)))
        .collect();
    let totals = collector::totals();
    let recorded = totals.recorded - rt.base.0;
    let ring_dropped = totals.dropped - rt.base.1;
    Stats {
        recorded,
        ring_dropped,
        in_rings: totals.in_rings,
        exporters: per
            .into_iter()
            .map(|(name, exported, own_dropped)| {
                let dropped = ring_dropped + own_dropped;
                ExporterStats {
                    name,
                    recorded,
                    exported,
                    dropped,
                    in_flight: recorded.saturating_sub(exported + dropped),
                }
            })
            .collect(),
    }
}

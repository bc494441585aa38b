//! A health monitor for build systems, batch jobs and worker pools.
//!
//! [`Monitor::start`] samples the process on a background thread (`telem-health`) at an interval —
//! resident memory, CPU time, thread count, and telem's own records waiting in rings and dropped — into
//! gauges (`process.memory.usage`, `process.cpu.time`, `process.thread.count`, `telem.rings.waiting`,
//! `telem.dropped`). [`Monitor::checkpoint`] records where the work stands: it derives the velocity
//! (completed per second since the previous checkpoint), the utilisation (busy / workers) and the
//! failure rate, and a [`HealthStatus`] from [`Thresholds`]; each checkpoint sets the `health.*`
//! gauges and, while telem runs, is recorded as a `health.checkpoint` event (the store keeps it).
//! [`Monitor::stop`] returns the final checkpoint, whose `Display` is one readable line.

use crate::events::level::Level;
use crate::metrics::__private::{GaugeCell, MetricSite};
use crate::trace::callsite::CallSite;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// What the process looks like at one moment. `None` where the platform does not say (the process
/// figures come from `/proc/self` on Linux).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessSample {
    /// Resident memory, bytes.
    pub resident_bytes: Option<u64>,
    /// CPU time used by the whole process (user + system), seconds.
    pub cpu_seconds: Option<f64>,
    /// Threads of the process.
    pub threads: Option<u64>,
    /// Spans and events waiting in telem's rings.
    pub telem_waiting: u64,
    /// Spans and events telem dropped before any exporter (full rings, ended after shutdown).
    pub telem_dropped: u64,
}

impl ProcessSample {
    /// Samples the process now.
    pub fn now() -> ProcessSample {
        let stats = crate::lifecycle::stats();
        let mut sample = ProcessSample {
            telem_waiting: stats.in_rings + stats.events.in_rings,
            telem_dropped: stats.ring_dropped + stats.events.ring_dropped,
            ..ProcessSample::default()
        };
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            for line in status.lines() {
                let number = |l: &str| l.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok());
                if line.starts_with("VmRSS:") {
                    sample.resident_bytes = number(line).map(|kib| kib * 1024);
                } else if line.starts_with("Threads:") {
                    sample.threads = number(line);
                }
            }
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // After the command name in parentheses (which may hold spaces): utime and stime are the
            // 12th and 13th fields, in USER_HZ ticks (100 per second on Linux).
            let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
            if let (Some(u), Some(s)) = (fields.get(11), fields.get(12)) {
                if let (Ok(u), Ok(s)) = (u.parse::<u64>(), s.parse::<u64>()) {
                    sample.cpu_seconds = Some((u + s) as f64 / 100.0);
                }
            }
        }
        sample
    }

    fn publish(&self) {
        static RSS: MetricSite<GaugeCell> =
            MetricSite::new("process.memory.usage", "By", "Resident memory of the process.", &[], &[], Some(&[]));
        static CPU: MetricSite<GaugeCell> =
            MetricSite::new("process.cpu.time", "s", "CPU time the process used.", &[], &[], Some(&[]));
        static THREADS: MetricSite<GaugeCell> =
            MetricSite::new("process.thread.count", "{thread}", "Threads of the process.", &[], &[], Some(&[]));
        static WAITING: MetricSite<GaugeCell> = MetricSite::new(
            "telem.rings.waiting",
            "{record}",
            "Spans and events waiting in telem's rings.",
            &[],
            &[],
            Some(&[]),
        );
        static DROPPED: MetricSite<GaugeCell> = MetricSite::new(
            "telem.dropped",
            "{record}",
            "Spans and events telem dropped before any exporter.",
            &[],
            &[],
            Some(&[]),
        );
        if let Some(v) = self.resident_bytes {
            RSS.cell().set(v as f64);
        }
        if let Some(v) = self.cpu_seconds {
            CPU.cell().set(v);
        }
        if let Some(v) = self.threads {
            THREADS.cell().set(v as f64);
        }
        WAITING.cell().set(self.telem_waiting as f64);
        DROPPED.cell().set(self.telem_dropped as f64);
    }
}

/// Healthy, degraded or critical, from [`Thresholds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HealthStatus {
    /// Every figure below its degraded threshold.
    Healthy,
    /// A figure at or above its degraded threshold.
    Degraded,
    /// A figure at or above its critical threshold.
    Critical,
}

impl HealthStatus {
    /// `healthy`, `degraded` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Critical => "critical",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a checkpoint's status changes. A rate or utilisation at or above a threshold reaches it; a
/// threshold above 1 is never reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Failed / (completed + failed) from which the status is degraded (default 0.05).
    pub degraded_failure_rate: f64,
    /// … and critical (default 0.25).
    pub critical_failure_rate: f64,
    /// Busy / workers from which the status is degraded: the pool is saturated (default 0.95).
    pub degraded_utilisation: f64,
    /// … and critical (default: never, 1.1).
    pub critical_utilisation: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            degraded_failure_rate: 0.05,
            critical_failure_rate: 0.25,
            degraded_utilisation: 0.95,
            critical_utilisation: 1.1,
        }
    }
}

impl Thresholds {
    /// The status of a failure rate and a utilisation.
    pub fn status(&self, failure_rate: f64, utilisation: f64) -> HealthStatus {
        if failure_rate >= self.critical_failure_rate || utilisation >= self.critical_utilisation {
            HealthStatus::Critical
        } else if failure_rate >= self.degraded_failure_rate || utilisation >= self.degraded_utilisation {
            HealthStatus::Degraded
        } else {
            HealthStatus::Healthy
        }
    }
}

/// Where the work stood at one moment, with what is derived from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// When it was taken.
    pub at: SystemTime,
    /// Since the monitor started.
    pub elapsed: Duration,
    /// Work items finished successfully so far.
    pub completed: u64,
    /// Work items that failed so far.
    pub failed: u64,
    /// Being worked on now.
    pub active: u64,
    /// Waiting to be worked on.
    pub pending: u64,
    /// Workers in the pool.
    pub workers: u64,
    /// Workers busy now.
    pub busy_workers: u64,
    /// Completed per second since the previous checkpoint (the first: since the start).
    pub velocity: f64,
    /// `busy_workers / workers` (0 without workers).
    pub utilisation: f64,
    /// `failed / (completed + failed)` (0 before anything finished).
    pub failure_rate: f64,
    /// From the monitor's [`Thresholds`].
    pub status: HealthStatus,
    /// The process at the same moment.
    pub process: ProcessSample,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {:.1} s: {} completed ({:.1}/s), {} failed ({:.1}%), {} active, {} pending, {}/{} workers busy ({:.0}%)",
            self.status,
            self.elapsed.as_secs_f64(),
            self.completed,
            self.velocity,
            self.failed,
            self.failure_rate * 100.0,
            self.active,
            self.pending,
            self.busy_workers,
            self.workers,
            self.utilisation * 100.0,
        )?;
        let p = &self.process;
        if let Some(rss) = p.resident_bytes {
            write!(f, "; memory {:.1} MiB", rss as f64 / (1024.0 * 1024.0))?;
        }
        if let Some(cpu) = p.cpu_seconds {
            write!(f, ", cpu {cpu:.2} s")?;
        }
        if let Some(threads) = p.threads {
            write!(f, ", {threads} threads")?;
        }
        write!(f, "; telem {} waiting, {} dropped", p.telem_waiting, p.telem_dropped)
    }
}

/// Samples the process in the background and records checkpoints. See the [module](self).
pub struct Monitor {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    started: Instant,
    thresholds: Thresholds,
    /// The last checkpoint (with its `Instant`), and whether `stop` was called.
    state: Mutex<(Option<(Instant, Checkpoint)>, bool)>,
    wake: Condvar,
}

/// How a [`Monitor`] runs.
#[derive(Clone, Copy, Debug)]
#[must_use = "call .start()"]
pub struct MonitorBuilder {
    interval: Duration,
    thresholds: Thresholds,
}

impl MonitorBuilder {
    /// How often the process is sampled (default 1 s; at least 1 ms).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every.max(Duration::from_millis(1));
        self
    }

    /// Where checkpoints become degraded or critical.
    pub fn thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Starts sampling.
    pub fn start(self) -> Monitor {
        let shared = Arc::new(Shared {
            started: Instant::now(),
            thresholds: self.thresholds,
            state: Mutex::new((None, false)),
            wake: Condvar::new(),
        });
        ProcessSample::now().publish();
        let sampler = shared.clone();
        let interval = self.interval;
        let thread = std::thread::Builder::new()
            .name("telem-health".into())
            .spawn(move || loop {
                let state = sampler.state.lock().unwrap_or_else(|e| e.into_inner());
                let (state, _) = sampler
                    .wake
                    .wait_timeout_while(state, interval, |state| !state.1)
                    .unwrap_or_else(|e| e.into_inner());
                if state.1 {
                    return;
                }
                drop(state);
                ProcessSample::now().publish();
            })
            .map_err(|e| eprintln!("[telem] the health monitor cannot start its sampling thread: {e}"))
            .ok();
        Monitor { shared, thread }
    }
}

impl Monitor {
    /// A monitor sampling every second with the default thresholds.
    pub fn start() -> Monitor {
        Monitor::builder().start()
    }

    /// A monitor to configure.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder { interval: Duration::from_secs(1), thresholds: Thresholds::default() }
    }

    /// Records where the work stands (cumulative `completed` and `failed`; the others as they are now)
    /// and returns the checkpoint.
    pub fn checkpoint(
        &self,
        completed: u64,
        failed: u64,
        active: u64,
        pending: u64,
        workers: u64,
        busy_workers: u64,
    ) -> Checkpoint {
        let now = Instant::now();
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let (since, done_before) = match &state.0 {
            Some((at, last)) => (*at, last.completed),
            None => (self.shared.started, 0),
        };
        let seconds = now.duration_since(since).as_secs_f64();
        let velocity = if seconds > 0.0 { completed.saturating_sub(done_before) as f64 / seconds } else { 0.0 };
        let utilisation = if workers == 0 { 0.0 } else { busy_workers as f64 / workers as f64 };
        let finished = completed + failed;
        let failure_rate = if finished == 0 { 0.0 } else { failed as f64 / finished as f64 };
        let process = ProcessSample::now();
        process.publish();
        let checkpoint = Checkpoint {
            at: SystemTime::now(),
            elapsed: now.duration_since(self.shared.started),
            completed,
            failed,
            active,
            pending,
            workers,
            busy_workers,
            velocity,
            utilisation,
            failure_rate,
            status: self.shared.thresholds.status(failure_rate, utilisation),
            process,
        };
        state.0 = Some((now, checkpoint.clone()));
        drop(state);
        record(&checkpoint);
        checkpoint
    }

    /// The last checkpoint recorded, if any.
    pub fn last(&self) -> Option<Checkpoint> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).0.as_ref().map(|(_, c)| c.clone())
    }

    /// Stops sampling and records the final checkpoint: the last counts given (zeros if none), its
    /// velocity over the whole run.
    pub fn stop(mut self) -> Checkpoint {
        self.halt();
        let last = self.last();
        // Over the whole run: measured from the start, not from the previous checkpoint.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).0 = None;
        let c = last.unwrap_or_else(|| Checkpoint {
            at: SystemTime::now(),
            elapsed: Duration::ZERO,
            completed: 0,
            failed: 0,
            active: 0,
            pending: 0,
            workers: 0,
            busy_workers: 0,
            velocity: 0.0,
            utilisation: 0.0,
            failure_rate: 0.0,
            status: HealthStatus::Healthy,
            process: ProcessSample::default(),
        });
        self.checkpoint(c.completed, c.failed, c.active, c.pending, c.workers, c.busy_workers)
    }

    fn halt(&mut self) {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The `health.*` gauges and, while telem runs, a `health.checkpoint` event.
fn record(c: &Checkpoint) {
    static VELOCITY: MetricSite<GaugeCell> =
        MetricSite::new("health.velocity", "{item}/s", "Work items completed per second.", &[], &[], Some(&[]));
    static UTILISATION: MetricSite<GaugeCell> =
        MetricSite::new("health.utilisation", "1", "Busy workers / workers.", &[], &[], Some(&[]));
    static FAILURE_RATE: MetricSite<GaugeCell> =
        MetricSite::new("health.failure_rate", "1", "Failed / finished work items.", &[], &[], Some(&[]));
    static STATUS: MetricSite<GaugeCell> =
        MetricSite::new("health.status", "", "0 healthy, 1 degraded, 2 critical.", &[], &[], Some(&[]));
    VELOCITY.cell().set(c.velocity);
    UTILISATION.cell().set(c.utilisation);
    FAILURE_RATE.cell().set(c.failure_rate);
    STATUS.cell().set(c.status as u8 as f64);

    static SITE: CallSite = CallSite::event("health.checkpoint", Level::Info, module_path!(), file!(), line!(), &[]);
    let level = match c.status {
        HealthStatus::Healthy => Level::Info,
        HealthStatus::Degraded | HealthStatus::Critical => Level::Warn,
    };
    if !crate::events::emit::enabled(&SITE, level) {
        return;
    }
    let n = |v: u64| Value::I64(v.min(i64::MAX as u64) as i64);
    let mut fields: Vec<(Cow<'static, str>, Value)> = vec![
        ("completed".into(), n(c.completed)),
        ("failed".into(), n(c.failed)),
        ("active".into(), n(c.active)),
        ("pending".into(), n(c.pending)),
        ("workers".into(), n(c.workers)),
        ("busy_workers".into(), n(c.busy_workers)),
        ("velocity".into(), Value::F64(c.velocity)),
        ("utilisation".into(), Value::F64(c.utilisation)),
        ("failure_rate".into(), Value::F64(c.failure_rate)),
        ("status".into(), Value::from(c.status.as_str())),
    ];
    if let Some(rss) = c.process.resident_bytes {
        fields.push(("process.memory.usage".into(), n(rss)));
    }
    if let Some(cpu) = c.process.cpu_seconds {
        fields.push(("process.cpu.time".into(), Value::F64(cpu)));
    }
    crate::events::emit::emit_with(&SITE, fields, Some(c.to_string().into()), None);
}

//! The collector thread and the exporter threads.
//!
//! The collector takes every ring's sealed segments (also those of threads that have exited) by pointer
//! into batches and offers each batch to every exporter's queue; the segments go back to their ring
//! when the last exporter drops the batch. Each exporter runs on a thread of its own, so a slow exporter
//! only fills its own queue (and then loses its own batches, counted), never the rings or the others:
//! a ring whose segments are held by a slow exporter takes fresh ones.

use crate::clock::{Anchor, Converter};
use crate::config::Config;
use crate::export::{Batch, Chunk, Exporter};
use crate::collect::local::{self, Lane, OFF, STATE, STOPPING};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// The collector's thread handle, for producers whose ring has a quarter of its segments sealed.
static COLLECTOR: Mutex<Option<Thread>> = Mutex::new(None);

/// Wakes the collector (called at most once per drain, from the producer's per-segment path).
#[cold]
#[inline(never)]
pub(crate) fn wake() {
    if let Some(t) = COLLECTOR.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        t.unpark();
    }
}

/// Under load the collector comes back on its own, timed from the fill rate it measured so that the
/// fullest ring is about an eighth full when it does (a pass costs a few pointer moves per segment, so
/// coming often is cheap): the producers then rarely need to wake it (a system call on their side, at a
/// quarter full) and a late wake-up (a vCPU busy elsewhere for a millisecond or more) still finds most
/// of the ring free. Naps stay within these bounds.
const MIN_NAP: Duration = Duration::from_micros(20);
const MAX_NAP: Duration = Duration::from_millis(10);

enum Msg {
    Batch(Arc<Batch>),
    Flush(u64),
    Shutdown,
}

/// What waits for an exporter.
#[derive(Default)]
struct Queue {
    msgs: VecDeque<Msg>,
    /// Spans in the queued batches.
    spans: usize,
    /// The exporter thread is asleep on `ready`: only then is a wake-up (a system call) needed.
    waiting: bool,
}

/// One exporter, its queue and its counters.
pub(crate) struct Worker {
    pub name: String,
    queue: Mutex<Queue>,
    ready: Condvar,
    pub exported: AtomicU64,
    pub dropped: AtomicU64,
    flushed: AtomicU64,
    finished: AtomicBool,
    failures: AtomicU64,
}

impl Worker {
    fn send(&self, msg: Msg) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.msgs.push_back(msg);
        self.wake(q);
    }

    /// Queues a batch unless the queue is full, in which case the batch is dropped for this exporter.
    /// Does not wake the exporter: the collector does that once per pass ([`Worker::nudge`]), so a pass
    /// that dispatches several batches costs one wake-up, not one context switch per batch.
    fn offer(&self, batch: &Arc<Batch>, capacity: usize) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.spans + batch.len() > capacity {
            drop(q);
            self.fail(batch.len(), "its queue is full (it is slower than the spans arrive)");
            return;
        }
        q.spans += batch.len();
        q.msgs.push_back(Msg::Batch(batch.clone()));
    }

    /// Wakes the exporter if it sleeps with work queued.
    fn nudge(&self) {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if !q.msgs.is_empty() {
            self.wake(q);
        }
    }

    /// Wakes the exporter thread if it sleeps; a busy one finds the message when it looks next.
    fn wake(&self, q: std::sync::MutexGuard<'_, Queue>) {
        let waiting = q.waiting;
        drop(q);
        if waiting {
            self.ready.notify_one();
        }
    }

    /// Counts `n` spans as dropped for this exporter and says so on stderr (the first time, then at
    /// powers of two, so a failing exporter cannot flood the terminal).
    fn fail(&self, n: usize, why: &str) {
        self.dropped.fetch_add(n as u64, Ordering::AcqRel);
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures.is_power_of_two() {
            eprintln!("[telem] exporter `{}` dropped {n} spans: {why} (failure #{failures})", self.name);
        }
    }

    fn run(self: Arc<Self>, mut exporter: Box<dyn Exporter>, signal: Arc<(Mutex<()>, Condvar)>) {
        loop {
            let msg = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(msg) = q.msgs.pop_front() {
                        break msg;
                    }
                    q.waiting = true;
                    q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
                    q.waiting = false;
                }
            };
            match msg {
                Msg::Batch(batch) => {
                    let n = batch.len();
                    match std::panic::catch_unwind(AssertUnwindSafe(|| exporter.export(&batch))) {
                        Ok(Ok(())) => {
                            self.exported.fetch_add(n as u64, Ordering::AcqRel);
                        }
                        Ok(Err(e)) => self.fail(n, &e.to_string()),
                        Err(panic) => self.fail(n, &format!("it panicked: {}", panic_text(&panic))),
                    }
                    self.queue.lock().unwrap_or_else(|e| e.into_inner()).spans -= n;
                }
                Msg::Flush(generation) => {
                    self.call("flush", || exporter.flush());
                    self.flushed.store(generation, Ordering::Release);
                    notify(&signal);
                }
                Msg::Shutdown => {
                    self.call("shutdown", || exporter.shutdown());
                    self.finished.store(true, Ordering::Release);
                    notify(&signal);
                    return;
                }
            }
        }
    }

    fn call(&self, what: &str, f: impl FnOnce() -> Result<(), crate::export::ExportError>) {
        match std::panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("[telem] exporter `{}` failed to {what}: {e}", self.name),
            Err(p) => eprintln!("[telem] exporter `{}` panicked in {what}: {}", self.name, panic_text(&p)),
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

fn notify(signal: &(Mutex<()>, Condvar)) {
    let _g = signal.0.lock().unwrap_or_else(|e| e.into_inner());
    signal.1.notify_all();
}

/// A started runtime: the collector, its exporters and their counters.
pub(crate) struct Runtime {
    pub config: Config,
    pub workers: Vec<Arc<Worker>>,
    /// `recorded` and ring drops already counted before this runtime started.
    pub base: (u64, u64),
    flush_requested: AtomicU64,
    signal: Arc<(Mutex<()>, Condvar)>,
    collector: Mutex<Option<JoinHandle<()>>>,
    exporter_threads: Mutex<Vec<JoinHandle<()>>>,
    anchor: Anchor,
    service: Arc<str>,
}

impl Runtime {
    /// Starts the exporter threads and the collector.
    pub fn start(config: Config, exporters: Vec<(String, Box<dyn Exporter>)>) -> std::io::Result<Arc<Runtime>> {
        let signal = Arc::new((Mutex::new(()), Condvar::new()));
        let mut workers = Vec::new();
        let mut threads = Vec::new();
        for (name, exporter) in exporters {
            let worker = Arc::new(Worker {
                name: name.clone(),
                queue: Mutex::new(Queue::default()),
                ready: Condvar::new(),
                exported: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                flushed: AtomicU64::new(0),
                finished: AtomicBool::new(false),
                failures: AtomicU64::new(0),
            });
            let (w, s) = (worker.clone(), signal.clone());
            threads.push(
                std::thread::Builder::new().name(format!("telem-export-{name}")).spawn(move || w.run(exporter, s))?,
            );
            workers.push(worker);
        }
        let totals = totals();
        let rt = Arc::new(Runtime {
            service: config.service_name.as_str().into(),
            config,
            workers,
            base: (totals.recorded, totals.dropped),
            flush_requested: AtomicU64::new(0),
            signal,
            collector: Mutex::new(None),
            exporter_threads: Mutex::new(threads),
            anchor: Anchor::now(),
        });
        let r = rt.clone();
        let handle = std::thread::Builder::new().name("telem-collector".into()).spawn(move || r.collect())?;
        *COLLECTOR.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.thread().clone());
        *rt.collector.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(rt)
    }

    /// The collector thread's loop.
    fn collect(self: Arc<Self>) {
        let interval = self.config.flush_interval;
        let mut clock = self.anchor.calibrate();
        let mut batch = Vec::new();
        let mut batch_len = 0usize;
        let mut next_export = Instant::now() + interval;
        let mut flushed = 0u64;
        let ring = (local::RING_CAPACITY.load(Ordering::Relaxed).max(2).next_power_of_two()) as f64;
        let mut last_pass = Instant::now();
        let mut busy = false;
        loop {
            let stopping = STATE.load(Ordering::Acquire) == STOPPING;
            let flush = self.flush_requested.load(Ordering::Acquire);
            let since = last_pass.elapsed();
            last_pass = Instant::now();
            let due = last_pass >= next_export || flush > flushed || stopping;
            let fullest = self.drain(due, &mut batch, &mut batch_len, &mut clock);
            let now = Instant::now();
            if due {
                self.dispatch(&mut batch, &mut batch_len, &mut clock);
                next_export = now + interval;
            }
            if flush > flushed {
                self.workers.iter().for_each(|w| w.send(Msg::Flush(flush)));
                flushed = flush;
            }
            self.workers.iter().for_each(|w| w.nudge());
            if stopping {
                break;
            }
            let until_export = next_export.saturating_duration_since(Instant::now());
            // Busy from the first pass that finds a ring a sixteenth full until one finds it nearly empty.
            busy = fullest as f64 >= ring / if busy { 256.0 } else { 16.0 };
            let nap = if !busy {
                until_export
            } else if fullest as f64 >= ring / 2.0 || since.is_zero() {
                MIN_NAP
            } else {
                since.mul_f64(ring / 8.0 / fullest.max(1) as f64).clamp(MIN_NAP, MAX_NAP).min(until_export)
            };
            std::thread::park_timeout(nap);
        }
        // Spans that were open when shutdown began may still land: take what arrives while we stop.
        STATE.store(OFF, Ordering::Release);
        self.drain(true, &mut batch, &mut batch_len, &mut clock);
        self.dispatch(&mut batch, &mut batch_len, &mut clock);
        self.workers.iter().for_each(|w| w.send(Msg::Shutdown));
    }

    /// Takes every ring's sealed segments (and, when `everything`, the unsealed records too) into
    /// batches of at most `batch_size` spans, dispatching full ones. Retires the lanes of exited threads
    /// once they are empty. Returns the most spans taken from one ring. Segments are never larger than the
    /// batch size a ring was made with; a ring made before a re-`init` with a smaller batch size can hand
    /// over a larger run, which then goes alone in its batch.
    fn drain(&self, everything: bool, batch: &mut Vec<Chunk>, batch_len: &mut usize, clock: &mut Converter) -> usize {
        let size = self.config.batch_size;
        let mut fullest = 0;
        let mut registry = local::registry();
        let mut retired = Vec::new();
        for (i, lane) in registry.lanes.iter().enumerate() {
            let orphaned = lane.orphaned.load(Ordering::Acquire);
            let moved = lane.ring.take(everything || orphaned, &mut |run| {
                if *batch_len > 0 && *batch_len + run.len() > size {
                    self.dispatch(batch, batch_len, clock);
                }
                *batch_len += run.len();
                batch.push(Chunk { thread: lane.thread, run });
                if *batch_len >= size {
                    self.dispatch(batch, batch_len, clock);
                }
            });
            fullest = fullest.max(moved);
            if orphaned && lane.ring.len() == 0 {
                retired.push(i);
            }
        }
        for i in retired.into_iter().rev() {
            let lane: Arc<Lane> = registry.lanes.swap_remove(i);
            registry.retired_recorded += lane.ring.recorded();
            registry.retired_dropped += lane.ring.dropped();
        }
        fullest
    }

    /// Offers the pending batch to every exporter.
    fn dispatch(&self, batch: &mut Vec<Chunk>, batch_len: &mut usize, clock: &mut Converter) {
        if *batch_len == 0 {
            return;
        }
        *clock = self.anchor.calibrate();
        let batch = Arc::new(Batch {
            chunks: std::mem::take(batch),
            clock: *clock,
            service: self.service.clone(),
            len: std::mem::take(batch_len),
        });
        for w in &self.workers {
            w.offer(&batch, self.config.queue_capacity);
        }
    }

    /// Asks for everything recorded so far to reach the exporters and waits until each has flushed.
    pub fn flush(&self, timeout: Duration) -> bool {
        let generation = self.flush_requested.fetch_add(1, Ordering::AcqRel) + 1;
        self.wake_collector();
        self.wait(timeout, |w| w.flushed.load(Ordering::Acquire) >= generation || w.finished.load(Ordering::Acquire))
    }

    /// Stops recording, drains, shuts the exporters down. True when every exporter finished in time.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let _ = STATE.compare_exchange(local::RUNNING, STOPPING, Ordering::AcqRel, Ordering::Acquire);
        self.wake_collector();
        let done = self.wait(timeout, |w| w.finished.load(Ordering::Acquire));
        if let Some(handle) = self.collector.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
        if done {
            for handle in self.exporter_threads.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                let _ = handle.join();
            }
        }
        done
    }

    fn wake_collector(&self) {
        if let Some(handle) = self.collector.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            handle.thread().unpark();
        }
    }

    /// Waits until `ok` holds for every worker, or the timeout passes.
    fn wait(&self, timeout: Duration, ok: impl Fn(&Worker) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.signal.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.workers.iter().all(|w| ok(w)) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Bounded waits also cover a worker that finished between our check and our wait.
            guard = self
                .signal
                .1
                .wait_timeout(guard, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Process-wide span totals across all rings, live and retired.
pub(crate) struct Totals {
    pub recorded: u64,
    pub dropped: u64,
    pub in_rings: u64,
}

pub(crate) fn totals() -> Totals {
    let registry = local::registry();
    let lost = local::LOST_AT_EXIT.load(Ordering::Acquire);
    let mut t =
        Totals { recorded: registry.retired_recorded + lost, dropped: registry.retired_dropped + lost, in_rings: 0 };
    for lane in &registry.lanes {
        t.recorded += lane.ring.recorded();
        t.dropped += lane.ring.dropped();
        t.in_rings += lane.ring.len();
    }
    t
}

//! The collector thread and the exporter threads.
//!
//! The collector takes every ring's sealed segments (also those of threads that have exited) by pointer
//! into batches and offers each batch to every exporter's queue; the segments go back to their ring
//! when the last exporter drops the batch. Each exporter runs on a thread of its own, so a slow exporter
//! only fills its own queue (and then loses its own batches, counted), never the rings or the others:
//! a ring whose segments are held by a slow exporter takes fresh ones.
//!
//! A collector kept off the CPU costs no spans: a producer whose ring is full hands its own sealed
//! segments to the exporters' queues ([`hand_off`]), doing the collector's job for its ring once per
//! ring-full of spans. The ring's consumer side stays exclusive (`Ring::take` / `try_take`), so the
//! collector simply finds that ring emptied. Losses then come only from an exporter's own queue.

use crate::clock::Anchor;
use crate::collect::local::{self, Lane, ThreadInfo, OFF, STATE};
use crate::collect::ring::{Ring, Run};
use crate::collect::tail::{Tail, TailCounts};
use crate::collect::Signal;
use crate::config::Config;
use crate::events::session;
use crate::export::{Batch, Chunk, Exporter};
use crate::resource::Resource;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// The runtime that is recording, for producers: they wake its collector when a quarter of their
/// ring is sealed and hand their segments to its exporters when the ring is full. Set when the
/// collector starts, cleared after the final drain.
static ACTIVE: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// Producer hand-offs under way, counted in the slot of the epoch they started in. The final drain and
/// a flush wait until the hand-offs that started before them are done (they flip the epoch and wait
/// for the old slot), so a batch a producer has taken out of its ring is queued before the exporters
/// are told to flush or stop, and hand-offs that keep starting meanwhile cannot hold the wait up.
static HANDOFFS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static HANDOFF_EPOCH: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the collector thread: it never hands off (its ring is drained by its own passes, and a
    /// span it records from an allocator may come while it holds an exporter's queue lock).
    static IS_COLLECTOR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn active() -> Option<Arc<Runtime>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Wakes the collector (called at most once per drain, from the producer's per-segment path).
#[cold]
#[inline(never)]
pub(crate) fn wake() {
    if let Some(t) = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|rt| rt.thread.get()) {
        t.unpark();
    }
}

/// Called by a producer whose ring `ring` is full: takes the ring's sealed segments and queues them
/// for the exporters, as the collector would have. True when it took any.
///
/// Runs on the recording thread, inside the ring's per-segment path (so a span recorded meanwhile, by
/// an allocator, is dropped and counted rather than re-entering). It waits (yielding) while another
/// thread takes from this ring — normally the collector, in the middle of a take, perhaps put off the
/// CPU — for [`HANDOFF_PATIENCE`] at most, and gives up at once when this very thread holds it. The
/// keep-errors buffer, which the collector holds across a pass, is only tried, a few times. Not on
/// the collector thread.
#[cold]
#[inline(never)]
pub(crate) fn hand_off(ring: &Ring) -> bool {
    if IS_COLLECTOR.try_with(|c| c.get()).unwrap_or(true) {
        return false;
    }
    let Ok(lane) = local::HOT.try_with(|h| h.lane.get()) else { return false };
    if lane.is_null() {
        return false;
    }
    // SAFETY: a non-null lane of this thread is alive while the thread runs (see `Hot::push`).
    let lane = unsafe { &*lane };
    let Some(signal) = Signal::ALL.into_iter().find(|&s| std::ptr::eq(lane.ring(s), ring)) else {
        return false; // not a registered thread's ring (a ring of the unit tests)
    };
    let Some(rt) = active() else { return false };
    let _counted = HandOffCount::start();
    rt.hand_off(lane, signal)
}

/// A hand-off, counted in its epoch's slot for as long as it lasts (also if it unwinds).
struct HandOffCount(usize);

impl HandOffCount {
    fn start() -> HandOffCount {
        let slot = HANDOFF_EPOCH.load(Ordering::SeqCst) & 1;
        HANDOFFS[slot].fetch_add(1, Ordering::SeqCst);
        HandOffCount(slot)
    }
}

impl Drop for HandOffCount {
    fn drop(&mut self) {
        HANDOFFS[self.0].fetch_sub(1, Ordering::SeqCst);
    }
}

/// How often a hand-off tries the keep-errors buffer, yielding in between, before giving up.
const HANDOFF_TRIES: usize = 64;

/// How long a hand-off waits for another thread to finish taking from its ring before it gives up
/// (the span is then dropped and counted): far longer than a take lasts, even one interrupted by the
/// scheduler, and a bound should the holder be waiting for something this thread holds (an allocator
/// lock, when the allocator records spans).
const HANDOFF_PATIENCE: Duration = Duration::from_millis(50);

/// Waits until the hand-offs that started before this call are done (they last microseconds). A
/// hand-off that took segments before the caller's drain of its ring started before this call: its
/// count was published before it released the ring, which the drain then acquired.
fn wait_handoffs() {
    let old = HANDOFF_EPOCH.fetch_add(1, Ordering::SeqCst) & 1;
    while HANDOFFS[old].load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
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
    /// Items (spans and events) in the queued batches.
    items: usize,
    /// The exporter thread is asleep on `ready`: only then is a wake-up (a system call) needed.
    waiting: bool,
}

/// One exporter, its queue and its counters.
pub(crate) struct Worker {
    pub name: String,
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Items exported and dropped by this exporter, per signal.
    pub exported: [AtomicU64; 2],
    pub dropped: [AtomicU64; 2],
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
        if q.items + batch.items() > capacity {
            drop(q);
            self.fail(batch, "its queue is full (it is slower than the spans arrive)");
            return;
        }
        q.items += batch.items();
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

    /// Counts `batch` as dropped for this exporter and says so on stderr (the first time, then at
    /// powers of two, so a failing exporter cannot flood the terminal).
    fn fail(&self, batch: &Batch, why: &str) {
        self.dropped[0].fetch_add(batch.len() as u64, Ordering::AcqRel);
        self.dropped[1].fetch_add(batch.events_len() as u64, Ordering::AcqRel);
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures.is_power_of_two() {
            let (spans, events) = (batch.len(), batch.events_len());
            eprintln!(
                "[telem] exporter `{}` dropped {spans} spans and {events} events: {why} (failure #{failures})",
                self.name
            );
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
                    match std::panic::catch_unwind(AssertUnwindSafe(|| exporter.export(&batch))) {
                        Ok(Ok(())) => {
                            self.exported[0].fetch_add(batch.len() as u64, Ordering::AcqRel);
                            self.exported[1].fetch_add(batch.events_len() as u64, Ordering::AcqRel);
                        }
                        Ok(Err(e)) => self.fail(&batch, &e.to_string()),
                        Err(panic) => self.fail(&batch, &format!("it panicked: {}", panic_text(&panic))),
                    }
                    self.queue.lock().unwrap_or_else(|e| e.into_inner()).items -= batch.items();
                }
                Msg::Flush(generation) => {
                    // The batches before this message are done with here: what a backlog held may
                    // have just been freed.
                    crate::collect::ring::give_back_memory();
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

/// Held by whoever takes records from rings: the collector for each pass, and `init` while it takes
/// what a previous runtime left behind. One consumer per ring at a time, whatever the runtimes do.
static TAKING: Mutex<()> = Mutex::new(());

fn taking() -> std::sync::MutexGuard<'static, ()> {
    TAKING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A runtime's phase. Only the runtime in `RUNNING` owns the global recording state.
const RUNNING: u8 = 1;
const STOPPING: u8 = 2;
const STOPPED: u8 = 3;

/// A point in time that may be "never": a timeout too large to add to the clock means no limit.
#[derive(Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// Time left; `None` when there is no limit.
    pub fn left(&self) -> Option<Duration> {
        self.0.map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn passed(&self) -> bool {
        self.left().is_some_and(|left| left.is_zero())
    }
}

/// A started runtime: the collector, its exporters and their counters.
pub(crate) struct Runtime {
    pub config: Config,
    pub workers: Vec<Arc<Worker>>,
    /// The rings' totals (per signal) when this runtime started, after it took what an earlier
    /// runtime left in them: everything recorded beyond this is this runtime's.
    base: [Totals; 2],
    /// `RUNNING`, `STOPPING` or `STOPPED` (the final drain is done).
    phase: std::sync::atomic::AtomicU8,
    /// Records taken from all rings (`Totals::taken`, per signal) when the final drain ended: anything
    /// pushed into a ring after that ended after shutdown and is counted as dropped.
    final_taken: [AtomicU64; 2],
    /// Signalled when the phase becomes `STOPPED`.
    stopped: (Mutex<()>, Condvar),
    flush_requested: AtomicU64,
    /// The collector's buffer for the lanes of one pass (see `drain_rings`).
    lanes: Mutex<Vec<Arc<Lane>>>,
    signal: Arc<(Mutex<()>, Condvar)>,
    collector: Mutex<Option<JoinHandle<()>>>,
    /// The collector thread, for waking it.
    thread: OnceLock<Thread>,
    exporter_threads: Mutex<Vec<JoinHandle<()>>>,
    anchor: Anchor,
    /// What every batch says about who recorded it; replaced (with a new `session.id`) when the session
    /// rotates.
    resource: Mutex<Arc<Resource>>,
    /// The keep-errors rule's held traces, when it is on (used by the collector only).
    tail: Mutex<Option<Tail>>,
    tail_counts: TailCounts,
    /// The session index the next event taken gets (events are numbered as they are batched).
    event_index: AtomicU64,
    /// Session events the collector made (recorded, without a ring).
    session_events: AtomicU64,
    /// `new_session()` calls asked for, and session rotations done.
    rotate_requested: AtomicU64,
    rotated: AtomicU64,
    /// What runs beside the runtime and stops with it (the Prometheus endpoint): dropped by `shutdown`.
    pub services: Mutex<Vec<Box<dyn Send>>>,
}

impl Runtime {
    /// Starts the exporter threads and the collector. The caller has checked that no other runtime is
    /// running and sets the global state to running once this returns.
    pub fn start(config: Config, exporters: Vec<(String, Box<dyn Exporter>)>) -> std::io::Result<Arc<Runtime>> {
        let signal = Arc::new((Mutex::new(()), Condvar::new()));
        let mut workers = Vec::new();
        let mut threads = Vec::new();
        for (name, exporter) in exporters {
            let worker = Arc::new(Worker {
                name: name.clone(),
                queue: Mutex::new(Queue::default()),
                ready: Condvar::new(),
                exported: [AtomicU64::new(0), AtomicU64::new(0)],
                dropped: [AtomicU64::new(0), AtomicU64::new(0)],
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
        // Spans that ended after an earlier runtime's final drain are still in the rings; that runtime
        // counted them as dropped. Take them out now, so this runtime neither exports nor counts them.
        let base = {
            let _taking = taking();
            for lane in lanes() {
                lane.rings.iter().for_each(|ring| {
                    ring.take(true, &mut drop);
                });
            }
            totals()
        };
        let config_tail = config.keep_errors.then(|| Tail::new(config.keep_errors_traces));
        let rt = Arc::new(Runtime {
            resource: Mutex::new(Arc::new(config.resource.with_session(session::new_id()))),
            config,
            workers,
            base,
            phase: std::sync::atomic::AtomicU8::new(RUNNING),
            final_taken: [AtomicU64::new(0), AtomicU64::new(0)],
            stopped: (Mutex::new(()), Condvar::new()),
            flush_requested: AtomicU64::new(0),
            lanes: Mutex::new(Vec::new()),
            signal,
            collector: Mutex::new(None),
            thread: OnceLock::new(),
            exporter_threads: Mutex::new(threads),
            services: Mutex::new(Vec::new()),
            anchor: Anchor::now(),
            tail: Mutex::new(config_tail),
            tail_counts: TailCounts::default(),
            event_index: AtomicU64::new(0),
            session_events: AtomicU64::new(0),
            rotate_requested: AtomicU64::new(0),
            rotated: AtomicU64::new(0),
        });
        let r = rt.clone();
        let handle = std::thread::Builder::new().name("telem-collector".into()).spawn(move || r.collect());
        let handle = match handle {
            Ok(handle) => handle,
            Err(e) => {
                rt.workers.iter().for_each(|w| w.send(Msg::Shutdown));
                return Err(e);
            }
        };
        let _ = rt.thread.set(handle.thread().clone());
        *rt.collector.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(rt.clone());
        Ok(rt)
    }

    /// The collector thread's life: passes until shutdown, then the final drain.
    fn collect(self: Arc<Self>) {
        let _ = IS_COLLECTOR.try_with(|c| c.set(true));
        let mut batch = Batcher::default();
        self.session_event(&mut batch, &session::START);
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.passes(&mut batch);
        })) {
            eprintln!("[telem] the collector failed ({}); stopping", panic_text(&panic));
            // As `shutdown` would: no span starts and no hand-off takes once the final drain begins.
            self.begin_stopping();
        }
        // The final drain: whatever is in the rings now goes out. A span that ends after it (its thread
        // saw the runtime still running an instant ago) is counted as dropped, ended after shutdown.
        // The phase is no longer `RUNNING`, so no hand-off starts now; those under way finish first.
        wait_handoffs();
        {
            let _taking = taking();
            self.drain_rings(true, &mut batch);
            if let Some(tail) = self.tail.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                tail.finish(&self.tail_counts);
            }
            self.session_event(&mut batch, &session::END);
            let taken = totals();
            for s in Signal::ALL {
                self.final_taken[s as usize].store(taken[s as usize].taken, Ordering::Release);
            }
            let _stopped = self.stopped.0.lock().unwrap_or_else(|e| e.into_inner());
            self.phase.store(STOPPED, Ordering::Release);
            STATE.store(OFF, Ordering::Release);
            self.stopped.1.notify_all();
        }
        {
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            if active.as_ref().is_some_and(|rt| Arc::ptr_eq(rt, &self)) {
                *active = None;
            }
        }
        batch.dispatch(&self);
        self.workers.iter().for_each(|w| w.send(Msg::Shutdown));
    }

    /// The collector's passes while the runtime runs.
    fn passes(&self, batch: &mut Batcher) {
        let interval = self.config.flush_interval;
        let mut next_export = Deadline::after(interval);
        let mut flushed = 0u64;
        let ring = (local::RING_CAPACITY.load(Ordering::Relaxed).clamp(2, 1 << 30).next_power_of_two()) as f64;
        let mut last_pass = Instant::now();
        let mut busy = false;
        loop {
            let stopping = self.phase.load(Ordering::Acquire) != RUNNING;
            if stopping {
                return;
            }
            let rotate = self.rotate_requested.load(Ordering::Acquire);
            if rotate > self.rotated.load(Ordering::Acquire) {
                self.rotate_session(batch);
                self.rotated.store(rotate, Ordering::Release);
                notify(&self.signal);
            }
            let flush = self.flush_requested.load(Ordering::Acquire);
            let since = last_pass.elapsed();
            last_pass = Instant::now();
            let due = next_export.passed() || flush > flushed;
            let fullest = {
                let _taking = taking();
                self.drain_rings(due, batch)
            };
            if due {
                batch.dispatch(self);
                next_export = Deadline::after(interval);
                crate::collect::ring::give_back_memory();
            }
            if flush > flushed {
                // Spans a producer took out of its ring before this pass are queued before the flush.
                wait_handoffs();
                self.workers.iter().for_each(|w| w.send(Msg::Flush(flush)));
                flushed = flush;
            }
            self.workers.iter().for_each(|w| w.nudge());
            let until_export = next_export.left();
            // Busy from the first pass that finds a ring a sixteenth full until one finds it nearly empty.
            busy = fullest as f64 >= ring / if busy { 256.0 } else { 16.0 };
            let nap = if !busy {
                until_export
            } else if fullest as f64 >= ring / 2.0 || since.is_zero() {
                Some(MIN_NAP)
            } else {
                let nap = since.mul_f64(ring / 8.0 / fullest.max(1) as f64).clamp(MIN_NAP, MAX_NAP);
                Some(until_export.map_or(nap, |until| nap.min(until)))
            };
            match nap {
                Some(nap) => std::thread::park_timeout(nap),
                None => std::thread::park(),
            }
        }
    }

    /// Takes every ring's sealed segments (and, when `everything`, the unsealed records too) into
    /// batches of at most `batch_size` spans, dispatching full ones. Retires the lanes of exited threads
    /// once they are empty. Returns the most spans taken from one ring. The caller holds the take lock.
    /// Segments are never larger than the batch size a ring was made with; a ring made before a
    /// re-`init` with a smaller batch size can hand over a larger run, which then goes alone in its
    /// batch.
    fn drain_rings(&self, everything: bool, batch: &mut Batcher) -> usize {
        let mut fullest = 0;
        let mut retired = Vec::new();
        // The registry is not held while taking: dispatching allocates, and a span recorded by an
        // allocator on this thread may need the registry to make this thread's own ring. The lanes
        // are copied into a buffer kept across passes, so a pass allocates nothing for them.
        let mut lanes = std::mem::take(&mut *self.lanes.lock().unwrap_or_else(|e| e.into_inner()));
        lanes.extend(local::registry().lanes.iter().cloned());
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tail) = tail.as_mut() {
            tail.begin_pass();
        }
        for lane in &lanes {
            let orphaned = lane.orphaned.load(Ordering::Acquire);
            for signal in Signal::ALL {
                let mut out = |run| batch.admit(self, tail.as_mut(), lane.thread, signal, run);
                // A ring whose producer is handing its segments over itself is skipped, unless
                // everything must go out now (then the hand-off, which lasts microseconds, is waited for).
                let ring = lane.ring(signal);
                let moved = if everything || orphaned {
                    ring.take(true, &mut out)
                } else {
                    ring.try_take(false, &mut out).unwrap_or(0)
                };
                fullest = fullest.max(moved);
            }
            if orphaned && lane.rings.iter().all(|ring| ring.len() == 0) {
                retired.push(lane.clone());
            }
        }
        if let Some(tail) = tail.as_mut() {
            tail.released(|thread, run| batch.add(self, thread, Signal::Spans, run));
            tail.end_pass(everything, &self.tail_counts);
        }
        drop(tail);
        lanes.clear();
        *self.lanes.lock().unwrap_or_else(|e| e.into_inner()) = lanes;
        if !retired.is_empty() {
            let mut registry = local::registry();
            let registry = &mut *registry;
            registry.lanes.retain(|lane| !retired.iter().any(|r| Arc::ptr_eq(r, lane)));
            for lane in &retired {
                for (retired, ring) in registry.retired.iter_mut().zip(&lane.rings) {
                    let c = ring.counts();
                    retired.pushed += c.pushed;
                    retired.dropped += c.dropped;
                    retired.taken += c.taken;
                }
            }
        }
        fullest
    }

    /// Ends the session and starts the next: everything recorded so far goes out under the old one,
    /// closed by its `session.end`; the new one starts at index 0 with its `session.start`.
    fn rotate_session(&self, batch: &mut Batcher) {
        wait_handoffs();
        {
            let _taking = taking();
            self.drain_rings(true, batch);
        }
        self.session_event(batch, &session::END);
        batch.dispatch(self);
        let next = self.resource().with_session(session::new_id());
        *self.resource.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        self.event_index.store(0, Ordering::Release);
        self.session_event(batch, &session::START);
    }

    /// Adds the current session's `site` event to the batch, counted as recorded.
    fn session_event(&self, batch: &mut Batcher, site: &'static crate::CallSite) {
        self.session_events.fetch_add(1, Ordering::AcqRel);
        batch.add(self, session::THREAD, Signal::Events, session::event(site, self.resource().session_id()));
    }

    /// The current session's resource (read once per dispatched batch).
    fn resource(&self) -> Arc<Resource> {
        self.resource.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Ends the current session and starts a new one (see `telem::new_session`). True when the
    /// collector did so within `timeout`.
    pub fn new_session(&self, timeout: Duration) -> bool {
        let generation = self.rotate_requested.fetch_add(1, Ordering::AcqRel) + 1;
        self.wake_collector();
        let deadline = Deadline::after(timeout);
        let mut guard = self.signal.0.lock().unwrap_or_else(|e| e.into_inner());
        while self.rotated.load(Ordering::Acquire) < generation {
            if !self.is_running() || deadline.passed() {
                return false;
            }
            guard = self.signal.1.wait_timeout(guard, Duration::from_millis(10)).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// A producer's hand-off of its full ring (see [`hand_off`]).
    fn hand_off(&self, lane: &Lane, signal: Signal) -> bool {
        if self.phase.load(Ordering::SeqCst) != RUNNING {
            return false; // the final drain takes it (or counts what ends after it)
        }
        // The keep-errors buffer first, then the ring: the collector locks them in that order too.
        let mut tail = None;
        if self.config.keep_errors {
            tail = retry(|| self.tail.try_lock().ok());
            if tail.is_none() {
                return false;
            }
        }
        let mut batch = Batcher::default();
        let mut out = |run| batch.admit(self, tail.as_deref_mut().and_then(Option::as_mut), lane.thread, signal, run);
        let mut patience = None;
        let taken = loop {
            match lane.ring(signal).try_take_or_holder(false, &mut out) {
                Ok(n) => break n,
                Err(true) => break 0, // our own take, further up this thread's stack
                Err(false) if patience.get_or_insert_with(|| Deadline::after(HANDOFF_PATIENCE)).passed() => break 0,
                Err(false) => std::thread::yield_now(),
            }
        };
        if let Some(Some(tail)) = tail.as_deref_mut() {
            tail.released(|thread, run| batch.add(self, thread, Signal::Spans, run));
        }
        drop(tail);
        if batch.items() > 0 {
            // The clock as it is: calibrating waits for the first millisecond after `init` to pass,
            // and this runs inside the application's span end.
            batch.dispatch_with(self, self.anchor.calibrate_now());
            self.workers.iter().for_each(|w| w.nudge());
        }
        taken > 0
    }

    /// Whether this runtime is the one recording.
    pub fn is_running(&self) -> bool {
        self.phase.load(Ordering::Acquire) == RUNNING
    }

    /// Asks for everything recorded so far to reach the exporters and waits until each has flushed.
    pub fn flush(&self, timeout: Duration) -> bool {
        let generation = self.flush_requested.fetch_add(1, Ordering::AcqRel) + 1;
        self.wake_collector();
        self.wait(timeout, |w| w.flushed.load(Ordering::Acquire) >= generation || w.finished.load(Ordering::Acquire))
    }

    /// Stops this runtime (if it still runs): stops recording, drains, shuts the exporters down,
    /// waiting at most `timeout` (a duration too large for the clock waits without limit). True when
    /// every span it recorded was exported or counted as dropped. A runtime that has already stopped
    /// is not started again, and no other runtime is touched.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Deadline::after(timeout);
        self.begin_stopping();
        drop(std::mem::take(&mut *self.services.lock().unwrap_or_else(|e| e.into_inner())));
        self.wake_collector();
        let left = deadline.left().unwrap_or(Duration::MAX);
        let done = self.wait(left, |w| w.finished.load(Ordering::Acquire)) && self.wait_stopped(deadline);
        if done {
            if let Some(handle) = self.collector.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = handle.join();
            }
            for handle in self.exporter_threads.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                let _ = handle.join();
            }
        }
        self.stats().exporters.iter().all(|e| e.in_flight == 0)
    }

    /// `RUNNING` → `STOPPING`, once. Under the lock the collector takes to mark the final drain done, so
    /// the global state cannot be set to stopping after that drain (and after a next `init`) has
    /// already happened. `SeqCst`, as hand-offs read the phase after counting themselves.
    fn begin_stopping(&self) {
        let _stopped = self.stopped.0.lock().unwrap_or_else(|e| e.into_inner());
        if self.phase.compare_exchange(RUNNING, STOPPING, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            // This runtime owned the global state: new spans stop starting now.
            STATE.store(local::STOPPING, Ordering::Release);
        }
    }

    /// Waits until the final drain is done. True when it is.
    pub fn wait_stopped(&self, deadline: Deadline) -> bool {
        let mut guard = self.stopped.0.lock().unwrap_or_else(|e| e.into_inner());
        while self.phase.load(Ordering::Acquire) != STOPPED {
            let wait = match deadline.left() {
                Some(left) if left.is_zero() => return false,
                Some(left) => left,
                None => Duration::from_secs(3600),
            };
            guard = self.stopped.1.wait_timeout(guard, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    fn wake_collector(&self) {
        if let Some(handle) = self.collector.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            handle.thread().unpark();
        }
    }

    /// Waits until `ok` holds for every worker, or the timeout passes (no limit when too large).
    fn wait(&self, timeout: Duration, ok: impl Fn(&Worker) -> bool) -> bool {
        let deadline = Deadline::after(timeout);
        let mut guard = self.signal.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.workers.iter().all(|w| ok(w)) {
                return true;
            }
            let left = deadline.left().unwrap_or(Duration::from_millis(50));
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

    /// This runtime's counters now (see `telem::Stats` for what they mean).
    pub fn stats(&self) -> crate::lifecycle::Stats {
        // Exporter counters first: they only grow after the rings' counters have, so reading them first
        // keeps `exported + dropped <= recorded` in every snapshot.
        let per: Vec<(String, [u64; 2], [u64; 2])> = self
            .workers
            .iter()
            .map(|w| {
                let read = |c: &[AtomicU64; 2]| [c[0].load(Ordering::Acquire), c[1].load(Ordering::Acquire)];
                (w.name.clone(), read(&w.exported), read(&w.dropped))
            })
            .collect();
        // The rule's counters next, before the rings': what they count was taken from a ring first.
        let sampled_out = self.tail_counts.sampled_out.load(Ordering::Acquire);
        let made = self.session_events.load(Ordering::Acquire);
        let tail_dropped = self.tail_counts.dropped.load(Ordering::Acquire);
        let stopped = self.phase.load(Ordering::Acquire) == STOPPED;
        let t = totals();
        // `extra`: recorded without a ring (the session events); `sampled_out`: recorded in a ring, then
        // discarded by the keep-errors rule.
        let signal = |s: Signal, extra: u64, sampled_out: u64, tail_dropped: u64| {
            let (t, base) = (&t[s as usize], &self.base[s as usize]);
            let recorded = t.recorded() + extra - base.recorded_from() - sampled_out;
            // After the final drain, what is still pushed into a ring ended after shutdown: dropped.
            let late = if stopped { t.pushed - self.final_taken[s as usize].load(Ordering::Acquire) } else { 0 };
            let ring_dropped = t.dropped - base.dropped + late;
            let exporters = per
                .iter()
                .map(|(name, exported, own_dropped)| {
                    let (exported, own_dropped) = (exported[s as usize], own_dropped[s as usize]);
                    let dropped = ring_dropped + tail_dropped + own_dropped;
                    let in_flight = recorded.checked_sub(exported + dropped);
                    debug_assert!(
                        in_flight.is_some(),
                        "telem accounting broken for `{name}` ({s:?}): recorded {recorded} < exported {exported} + dropped {dropped}"
                    );
                    crate::lifecycle::ExporterStats {
                        name: name.clone(),
                        recorded,
                        exported,
                        dropped,
                        // Never hidden as 0: a wrapped, huge in-flight count shows the bug.
                        in_flight: in_flight.unwrap_or_else(|| recorded.wrapping_sub(exported + dropped)),
                    }
                })
                .collect();
            (recorded, ring_dropped, if stopped { 0 } else { t.pushed - t.taken }, exporters)
        };
        let (recorded, ring_dropped, in_rings, exporters) = signal(Signal::Spans, 0, sampled_out, tail_dropped);
        let events = signal(Signal::Events, made, 0, 0);
        crate::lifecycle::Stats {
            recorded,
            ring_dropped,
            in_rings,
            sampled_out,
            tail_dropped,
            exporters,
            metrics: Default::default(),
            events: crate::lifecycle::EventStats {
                recorded: events.0,
                ring_dropped: events.1,
                in_rings: events.2,
                exporters: events.3,
            },
        }
    }
}

/// `f()` until it gives something, [`HANDOFF_TRIES`] times at most, yielding in between.
fn retry<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..HANDOFF_TRIES {
        if let Some(t) = f() {
            return Some(t);
        }
        std::thread::yield_now();
    }
    None
}

/// Records taken from rings and not yet offered to the exporters: batches of at most the configured
/// batch size (spans and events together), made by the collector in its passes and by a producer in a
/// hand-off.
#[derive(Default)]
struct Batcher {
    chunks: Vec<Chunk>,
    events: Vec<Chunk>,
    len: usize,
    events_len: usize,
}

impl Batcher {
    fn items(&self) -> usize {
        self.len + self.events_len
    }

    /// Adds `run`, dispatching first when it would not fit, and after when the batch is full.
    fn add(&mut self, rt: &Runtime, thread: ThreadInfo, signal: Signal, run: Run) {
        let size = rt.config.batch_size;
        if self.items() > 0 && self.items() + run.len() > size {
            self.dispatch(rt);
        }
        match signal {
            Signal::Spans => {
                self.len += run.len();
                self.chunks.push(Chunk { thread, run, index: 0 });
            }
            Signal::Events => {
                self.events_len += run.len();
                let index = rt.event_index.fetch_add(run.len() as u64, Ordering::Relaxed);
                self.events.push(Chunk { thread, run, index });
            }
        }
        if self.items() >= size {
            self.dispatch(rt);
        }
    }

    /// [`add`](Self::add) once the keep-errors rule, when on (`tail`), has taken a span run's unsampled
    /// records: the same for the collector's passes and a producer's hand-off.
    fn admit(&mut self, rt: &Runtime, tail: Option<&mut Tail>, thread: ThreadInfo, signal: Signal, mut run: Run) {
        if let (Some(tail), Signal::Spans) = (tail, signal) {
            tail.sift(&mut run, thread, &rt.tail_counts);
            if run.len() == 0 {
                return;
            }
        }
        self.add(rt, thread, signal, run);
    }

    /// Offers the pending batch to every exporter.
    fn dispatch(&mut self, rt: &Runtime) {
        self.dispatch_with(rt, rt.anchor.calibrate());
    }

    /// [`dispatch`](Self::dispatch) with the given clock.
    fn dispatch_with(&mut self, rt: &Runtime, clock: crate::clock::Converter) {
        if self.items() == 0 {
            return;
        }
        let batch = Arc::new(Batch {
            chunks: std::mem::take(&mut self.chunks),
            events: std::mem::take(&mut self.events),
            clock,
            resource: rt.resource(),
            len: std::mem::take(&mut self.len),
            events_len: std::mem::take(&mut self.events_len),
        });
        for w in &rt.workers {
            w.offer(&batch, rt.config.queue_capacity);
        }
    }
}

/// Every live lane, cloned out of the registry so that it is not held while the rings are read.
fn lanes() -> Vec<Arc<Lane>> {
    local::registry().lanes.clone()
}

/// Process-wide counts across all rings, live and retired, plus the spans lost where no ring could
/// take them (counted as pushed nowhere, dropped).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Totals {
    pub pushed: u64,
    pub dropped: u64,
    pub taken: u64,
}

impl Totals {
    /// Spans ever recorded: stored in a ring or dropped.
    pub fn recorded(&self) -> u64 {
        self.pushed + self.dropped
    }

    /// As a starting point: records beyond `taken` are not taken yet, so they belong to whoever takes
    /// them next (a runtime counts from its base's `taken`, not its `pushed`).
    fn recorded_from(&self) -> u64 {
        self.taken + self.dropped
    }
}

/// [`Totals`] per signal (index `Signal as usize`).
pub(crate) fn totals() -> [Totals; 2] {
    let registry = local::registry();
    Signal::ALL.map(|s| {
        let lost = local::LOST[s as usize].load(Ordering::Acquire);
        let r = registry.retired[s as usize];
        let mut t = Totals { pushed: r.pushed, dropped: r.dropped + lost, taken: r.taken };
        for lane in &registry.lanes {
            let c = lane.ring(s).counts();
            t.pushed += c.pushed;
            t.dropped += c.dropped;
            t.taken += c.taken;
        }
        t
    })
}

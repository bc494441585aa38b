//! Per-thread state: the current context, the id generator, the thread's ring, and the side table of
//! attributes set through `current_span()`. Everything the hot path touches lives in one `const`
//! thread-local without a destructor, so reaching it is a single TLS-relative address.

use crate::collect::ring::{Counts, Push, Ring};
use crate::collect::Signal;
use crate::ids::{os_seed, wyrand};
use crate::trace::record::{Record, Status};
use crate::trace::value::Value;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// True when the `enabled` feature is on; every entry point tests it first, so without the feature
/// the whole runtime folds away at compile time.
pub(crate) const ENABLED: bool = cfg!(feature = "enabled");

pub(crate) const OFF: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const STOPPING: u8 = 2;

/// Whether spans are being recorded. Read with one relaxed load per span.
pub(crate) static STATE: AtomicU8 = AtomicU8::new(OFF);
/// Slots in each new thread's ring (set from the configuration at `init`).
pub(crate) static RING_CAPACITY: AtomicUsize = AtomicUsize::new(crate::config::DEFAULT_RING_CAPACITY);
/// The batch size; a ring segment is never larger, so a segment handed over whole fits a batch.
pub(crate) static BATCH_SIZE: AtomicUsize = AtomicUsize::new(crate::config::DEFAULT_BATCH_SIZE);

#[inline(always)]
pub(crate) fn running() -> bool {
    ENABLED && STATE.load(Ordering::Relaxed) == RUNNING
}

/// A thread as exporters see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Small sequential number, unique for the life of the process (1 for the first thread that records).
    pub id: u64,
    /// The thread's name, or `""` when it has none.
    pub name: &'static str,
}

/// A thread's rings (one per [`Signal`]; a ring allocates nothing before its first push) and who
/// they belong to. Stays registered after the thread exits until drained.
pub(crate) struct Lane {
    pub rings: [Ring; 2],
    pub thread: ThreadInfo,
    pub orphaned: std::sync::atomic::AtomicBool,
}

impl Lane {
    #[inline(always)]
    pub fn ring(&self, signal: Signal) -> &Ring {
        &self.rings[signal as usize]
    }
}

/// Every lane ever created and not yet retired, plus the counts of retired ones.
pub(crate) struct Registry {
    pub lanes: Vec<Arc<Lane>>,
    /// Counts of lanes that were drained and removed after their thread exited, per signal.
    pub retired: [Counts; 2],
}

const NO_COUNTS: Counts = Counts { pushed: 0, dropped: 0, taken: 0 };
static REGISTRY: Mutex<Registry> = Mutex::new(Registry { lanes: Vec::new(), retired: [NO_COUNTS; 2] });
/// Spans (index 0) and events (1) that ended where no ring could take them: while their thread was
/// being torn down, after shutdown, or re-entering telem from inside telem's own bookkeeping on their
/// thread (an allocator that records spans). Counted as recorded and dropped, so they are never lost
/// silently.
pub(crate) static LOST: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// The registry, locked. While it is held this thread is marked busy, so a span recorded meanwhile by
/// an allocator on this thread cannot try to take the lock again.
pub(crate) fn registry() -> Busy<MutexGuard<'static, Registry>> {
    Busy::enter(|| REGISTRY.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Holds `T` with this thread marked as inside telem's bookkeeping; see [`Hot::busy`].
pub(crate) struct Busy<T> {
    inner: std::mem::ManuallyDrop<T>,
    was: bool,
}

impl<T> Busy<T> {
    pub fn enter(make: impl FnOnce() -> T) -> Busy<T> {
        let was = HOT.try_with(|h| h.busy.replace(true)).unwrap_or(true);
        Busy { inner: std::mem::ManuallyDrop::new(make()), was }
    }
}

impl<T> std::ops::Deref for Busy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> std::ops::DerefMut for Busy<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T> Drop for Busy<T> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the flag is cleared only after what it guards is released.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.inner) };
        let _ = HOT.try_with(|h| h.busy.set(self.was));
    }
}

/// Whether this thread is inside telem's bookkeeping (then a new lane or a manual call site must not
/// be made: that would take locks this thread may hold).
pub(crate) fn busy() -> bool {
    HOT.try_with(|h| h.busy.get()).unwrap_or(true)
}

/// The ids and flags that are current on a thread: what a span started now hangs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Current {
    pub trace: u128,
    pub span: u64,
    pub flags: u8,
}

impl Current {
    pub const NONE: Current = Current { trace: 0, span: 0, flags: 0 };
}

/// The hot thread-local state.
pub(crate) struct Hot {
    pub lane: Cell<*const Lane>,
    pub trace: Cell<u128>,
    pub span: Cell<u64>,
    /// The W3C trace flags of the current context (`context::SAMPLED`, `context::RANDOM`).
    pub flags: Cell<u8>,
    rng: Cell<u64>,
    /// The high half of the trace ids this thread starts: random, drawn once per thread.
    trace_prefix: Cell<u64>,
    /// Entries in `PENDING`; checked before touching it.
    pub pending: Cell<usize>,
    /// Set while this thread is inside telem's own bookkeeping that locks or allocates (making its
    /// ring, locking the registry, interning a call site). A span that needs that bookkeeping again
    /// meanwhile (an allocator that records spans) is dropped and counted in [`LOST`].
    busy: Cell<bool>,
    /// The span id of a context attached with `Context::attach` (0: none). While it is the current
    /// span id, no span of this thread is current: `current_span()` names none.
    pub attached: Cell<u64>,
    /// The span id of an attached context from another process (`Context::is_remote`; 0: none): a
    /// span started directly under it is the first of its trace here (a local root).
    pub remote: Cell<u64>,
}

thread_local! {
    pub(crate) static HOT: Hot = const {
        Hot { lane: Cell::new(std::ptr::null()), trace: Cell::new(0), span: Cell::new(0), flags: Cell::new(0), rng: Cell::new(0), trace_prefix: Cell::new(0), pending: Cell::new(0), busy: Cell::new(false), attached: Cell::new(0), remote: Cell::new(0) }
    };
    /// Keeps this thread's lane alive and marks it orphaned when the thread exits.
    static OWNER: RefCell<Option<LaneOwner>> = const { RefCell::new(None) };
    /// Attributes and statuses set through `current_span()`, keyed by span id, until the span's scope ends.
    static PENDING: RefCell<Vec<(u64, Pending)>> = const { RefCell::new(Vec::new()) };
}

/// This thread's hot state. A plain reference rather than `HOT.with(closure)`: the closures on the hot
/// path are large enough that `LocalKey::with` stayed out of line (an indirect call per access).
#[inline(always)]
pub(crate) fn hot() -> &'static Hot {
    // SAFETY: `HOT` is const-initialised and has no destructor, so its storage is valid for the whole
    // life of the thread; `Hot` is not `Sync`, so the reference cannot be sent to another thread.
    HOT.with(|h| unsafe { &*(h as *const Hot) })
}

struct LaneOwner(Arc<Lane>);

impl Drop for LaneOwner {
    fn drop(&mut self) {
        self.0.orphaned.store(true, Ordering::Release);
        let _ = HOT.try_with(|h| h.lane.set(std::ptr::null()));
    }
}

impl Hot {
    /// Makes `current` the current context; returns the one it replaces.
    #[inline(always)]
    pub fn replace_current(&self, current: Current) -> Current {
        let before = Current { trace: self.trace.get(), span: self.span.get(), flags: self.flags.get() };
        self.trace.set(current.trace);
        self.span.set(current.span);
        self.flags.set(current.flags);
        before
    }

    /// A fresh non-zero span id.
    #[inline(always)]
    pub fn span_id(&self) -> u64 {
        let mut state = self.rng.get();
        if state == 0 {
            state = self.seed();
        }
        let id = wyrand(&mut state);
        self.rng.set(state);
        id | (id == 0) as u64
    }

    #[cold]
    fn seed(&self) -> u64 {
        let mut state = os_seed();
        self.trace_prefix.set(wyrand(&mut state));
        state
    }

    /// A fresh trace id for a root span with id `root`: this thread's random prefix above the root's
    /// random span id. 64 random bits that differ per root and 64 per thread keep ids unique without a
    /// second draw per root; the low half doubles as a 64-bit trace id for backends that want one.
    #[inline(always)]
    pub fn trace_id(&self, root: u64) -> u128 {
        ((self.trace_prefix.get() as u128) << 64) | root as u128
    }

    /// Pushes a finished span's record, made by `record`, into this thread's span ring.
    #[inline(always)]
    pub fn push(&self, record: impl FnOnce() -> Record) {
        self.push_to(Signal::Spans, record)
    }

    /// Pushes a record into this thread's ring for `signal`.
    #[inline(always)]
    pub fn push_to(&self, signal: Signal, record: impl FnOnce() -> Record) {
        let lane = self.lane.get();
        if lane.is_null() {
            // The closure, not the record: a 64-byte-aligned record passed by value would make every
            // instrumented function realign its stack for this cold call.
            return push_slow(signal, record);
        }
        // SAFETY: a non-null `lane` is kept alive by `OWNER` until it is reset to null on thread exit.
        if unsafe { (*lane).ring(signal).push(record) } == Push::Wake {
            crate::collect::collector::wake();
        }
    }
}

#[cold]
#[inline(never)]
fn push_slow(signal: Signal, record: impl FnOnce() -> Record) {
    // A span recorded while this thread makes its lane (an allocator that records spans, called while
    // the thread-local destructor is registered or the ring allocated) must not make a second one: it
    // is counted instead. So is one that ends while the thread is being torn down.
    // Nor is a lane made for a span that ends after shutdown on a thread that never recorded before:
    // nothing would take it.
    if busy() || STATE.load(Ordering::Relaxed) == OFF {
        return lost(signal, record());
    }
    let made = Busy::enter(|| {
        OWNER.try_with(|owner| {
            let mut owner = owner.try_borrow_mut().ok()?;
            Some(owner.get_or_insert_with(|| LaneOwner(new_lane())).0.clone())
        })
    });
    let Ok(Some(lane)) = &*made else {
        drop(made);
        return lost(signal, record());
    };
    let lane = lane.clone();
    drop(made);
    let _ = HOT.try_with(|h| h.lane.set(Arc::as_ptr(&lane)));
    if lane.ring(signal).push(record) == Push::Wake {
        crate::collect::collector::wake();
    }
}

/// Counts a record no ring could take (recorded, and dropped).
#[cold]
pub(crate) fn lost(signal: Signal, record: Record) {
    drop(record);
    LOST[signal as usize].fetch_add(1, Ordering::Relaxed);
}

fn new_lane() -> Arc<Lane> {
    static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
    let thread = ThreadInfo {
        id: NEXT_THREAD.fetch_add(1, Ordering::Relaxed),
        name: intern_thread_name(std::thread::current().name().unwrap_or("")),
    };
    let ring = || Ring::new(RING_CAPACITY.load(Ordering::Relaxed), BATCH_SIZE.load(Ordering::Relaxed));
    let lane = Arc::new(Lane { rings: [ring(), ring()], thread, orphaned: std::sync::atomic::AtomicBool::new(false) });
    registry().lanes.push(lane.clone());
    lane
}

/// Thread names are kept once per distinct name, so pools that start and stop threads stay bounded.
fn intern_thread_name(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    match names.get(name) {
        Some(n) => n,
        None => {
            let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
            names.insert(leaked);
            leaked
        }
    }
}

/// Something set on a span through `current_span()` while it is current.
pub(crate) enum Pending {
    Attribute(Cow<'static, str>, Value),
    Status(Status),
}

pub(crate) fn push_pending(span_id: u64, item: Pending) {
    let _ = PENDING.try_with(|p| {
        // Busy only if an allocator recorded a span while this very call grew the table: skip it.
        if let Ok(mut p) = p.try_borrow_mut() {
            p.push((span_id, item));
            hot().pending.set(p.len());
        }
    });
}

/// Moves what `current_span()` set on `span_id` into the span; the owner of a span's scope calls this
/// when the scope ends. Cheap when nothing is pending: one thread-local read, the rest out of line.
#[inline(always)]
pub(crate) fn any_pending() -> bool {
    hot().pending.get() != 0
}

/// Takes what is pending for span `span_id` (see [`any_pending`]).
#[inline(always)]
pub(crate) fn take_pending(span_id: u64, apply: impl FnMut(Pending)) {
    if any_pending() {
        take_pending_slow(span_id, apply);
    }
}

#[cold]
#[inline(never)]
fn take_pending_slow(span_id: u64, mut apply: impl FnMut(Pending)) {
    let _ = PENDING.try_with(|p| {
        let Ok(mut p) = p.try_borrow_mut() else { return };
        let mut i = 0;
        while i < p.len() {
            if p[i].0 == span_id {
                apply(p.remove(i).1);
            } else {
                i += 1;
            }
        }
        hot().pending.set(p.len());
    });
}

/// The message a panic payload carries (`panic!` makes a `&str` or a `String`).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> Cow<'static, str> {
    match payload.downcast_ref::<&'static str>() {
        Some(s) => Cow::Borrowed(*s),
        None => match payload.downcast_ref::<String>() {
            Some(s) => Cow::Owned(s.clone()),
            None => Cow::Borrowed("panicked with a non-string payload"),
        },
    }
}

//! A thread's bounded ring of [`Record`]s, made of segments that change hands instead of being copied.
//!
//! The owning thread (the producer) writes records into its current *segment* (up to 1024 records,
//! 64 KiB). A full segment is *sealed*: it is pointed at its successor and a count is published, and
//! the producer carries on in that fresh segment. The collector (the one consumer) takes sealed
//! segments by pointer and hands them to exporters inside [`Run`]s; when the last exporter is done with
//! a batch, the segment goes back to its ring's free list and the producer reuses it. So no thread ever
//! copies a span's 64 bytes from the core that wrote them: the collector touches pointers only, and an
//! exporter that reads spans reads each line once. Only the unsealed tail of the current segment is
//! copied, and only when the collector must hand over everything (a flush, the export interval,
//! shutdown, or an exited thread).
//!
//! Bounds: at most `capacity / segment` sealed segments wait for the collector; when that many wait
//! and the current segment is full, the producer takes them itself and hands them to the exporters
//! (`collector::hand_off`); only when that is impossible (no runtime, a re-entered push, the consumer
//! side held for long) are new records dropped and counted. The consumer side is exclusive: whoever
//! takes holds it (`take` waits for it, `try_take` does not). Sealed segments wait in a
//! chain through the segments themselves (each sealed segment points at its successor), so a ring
//! costs no memory beyond the segments it has in use, whatever its capacity. A segment holds exactly
//! as many slots as the ring's segment size (at most 1024, never more than a batch). Segments held by
//! exporters are bounded by the exporters' queue capacity; the free list keeps at most 16 (see
//! `KEEP_FREE`) and what a backlog needed beyond that goes back to the allocator.
//!
//! Re-entrancy: the per-segment path allocates, and an allocator may record spans (instrumented
//! allocators exist). A push that arrives on the producer thread while that thread is inside the
//! per-segment path is dropped and counted, never interleaved with it.
//!
//! The hot path is: load the position, compare with the current segment's end, write the slot, publish
//! the position. Everything else (sealing, finding a segment, waking the collector) happens once per
//! segment, out of line.

use crate::trace::record::Record;
use std::alloc::Layout;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A number unique to the calling thread among live threads, never 0: the address of a thread-local.
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    // A thread being torn down has no thread-locals left: it shares one token, which only makes it
    // wait as if another thread held the ring.
    TOKEN.try_with(|t| t as *const u8 as usize).unwrap_or(1)
}

/// Free segments a ring keeps for reuse at most (1 MiB of them): enough for what circulates between the
/// producer, the collector and the exporters when they keep up; what a backlog needed beyond that goes
/// back to the allocator (and, with [`give_back_memory`], to the system), so a stall once does not
/// leave the process larger for good.
const KEEP_FREE: usize = 16;

/// Records per segment at most: 64 KiB, under the allocator's `mmap` threshold, so a segment that is
/// freed and allocated again comes from its free lists without page faults.
pub(crate) const SEGMENT: usize = 1024;

/// Pads a value to its own cache lines so producer and consumer fields never share one.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

/// The header of a block of record slots; the slots follow it in the same allocation. Records are
/// never dropped with the segment: the [`Run`] that owns a range of them does that.
#[repr(C, align(64))]
pub(crate) struct Segment {
    /// Position (in the ring's sequence of records) of the first slot; set before the segment is
    /// published to the consumer.
    base: u64,
    /// Slots in this segment.
    slots: usize,
    /// Next segment in a free list or spare chain.
    next: *mut Segment,
    /// The segment the producer continued in after sealing this one (null until sealed): the sealed
    /// segments form a chain the consumer follows.
    sealed_next: AtomicPtr<Segment>,
}

impl Segment {
    fn layout(slots: usize) -> Layout {
        let bytes = std::mem::size_of::<Segment>() + slots * std::mem::size_of::<Record>();
        Layout::from_size_align(bytes, std::mem::align_of::<Segment>()).expect("segment layout")
    }

    /// A new segment of `slots` slots, or `None` when the allocator has no memory for it.
    fn allocate(slots: usize) -> Option<NonNull<Segment>> {
        // SAFETY: the layout has a non-zero size (the header).
        let segment = NonNull::new(unsafe { std::alloc::alloc(Segment::layout(slots)) } as *mut Segment)?;
        // SAFETY: freshly allocated, ours; the slots stay uninitialised.
        unsafe {
            segment.as_ptr().write(Segment {
                base: 0,
                slots,
                next: ptr::null_mut(),
                sealed_next: AtomicPtr::new(ptr::null_mut()),
            })
        };
        Some(segment)
    }

    /// # Safety
    /// `segment` came from [`Segment::allocate`], nobody else holds it, and its records are not owned.
    unsafe fn free(segment: NonNull<Segment>) {
        let slots = unsafe { (*segment.as_ptr()).slots };
        let layout = Segment::layout(slots);
        unsafe { std::alloc::dealloc(segment.as_ptr() as *mut u8, layout) };
        FREED.fetch_add(layout.size(), Ordering::Relaxed);
    }

    fn slots(segment: NonNull<Segment>) -> *mut Record {
        // SAFETY: the slots start right after the header, inside the allocation.
        unsafe { (segment.as_ptr() as *mut u8).add(std::mem::size_of::<Segment>()) as *mut Record }
    }
}

/// Bytes of segments given back to the allocator since [`give_back_memory`] last looked.
static FREED: AtomicUsize = AtomicUsize::new(0);

/// At least this much freed before [`give_back_memory`] asks the allocator to return it.
const GIVE_BACK_AT: usize = 2 << 20;

/// Returns freed segment memory to the system once megabytes of it have piled up (after a backlog: an
/// exporter or the whole machine stalled while spans kept coming, and the exporters' queues held many
/// segments). glibc's allocator keeps freed 64 KiB blocks resident unless asked; other allocators
/// (musl's, jemalloc and mimalloc as the global allocator) give memory back by themselves, and there
/// this does nothing. Called where a pass of work ends (a flush, the export interval), never per span.
pub(crate) fn give_back_memory() {
    if FREED.load(Ordering::Relaxed) < GIVE_BACK_AT {
        return;
    }
    FREED.store(0, Ordering::Relaxed);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's `malloc_trim` takes any pad and only releases free memory.
        unsafe { malloc_trim(0) };
    }
}

/// Segments given back by exporters, waiting for the producer to reuse them. Many threads push (whoever
/// drops a batch last); only the producer takes, and it takes the whole list at once, so the list has
/// no ABA problem.
pub(crate) struct FreeList {
    head: AtomicPtr<Segment>,
    len: AtomicUsize,
    /// Segments kept at most; a segment returned beyond that is freed.
    keep: usize,
}

impl FreeList {
    /// Gives a segment back (its records no longer owned by anyone).
    fn put(&self, segment: NonNull<Segment>) {
        if self.len.fetch_add(1, Ordering::Relaxed) >= self.keep {
            self.len.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: the caller gave up the segment.
            return unsafe { Segment::free(segment) };
        }
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the segment is ours until the exchange below publishes it.
            unsafe { (*segment.as_ptr()).next = head };
            match self.head.compare_exchange_weak(head, segment.as_ptr(), Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Takes every segment on the list.
    fn take_all(&self) -> *mut Segment {
        let list = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        let mut n = 0;
        let mut s = list;
        while !s.is_null() {
            n += 1;
            // SAFETY: the list is ours now; each `next` was written before the segment was published.
            s = unsafe { (*s).next };
        }
        self.len.fetch_sub(n, Ordering::Relaxed);
        list
    }
}

impl Drop for FreeList {
    fn drop(&mut self) {
        free_chain(self.take_all());
    }
}

fn free_chain(mut s: *mut Segment) {
    while let Some(segment) = NonNull::new(s) {
        // SAFETY: a chain of segments nobody else holds.
        s = unsafe { (*segment.as_ptr()).next };
        unsafe { Segment::free(segment) };
    }
}

/// Fields only the producer writes (the collector reads some of them when it takes records).
struct ProducerSide {
    /// Records ever pushed; published with release ordering after each record is written.
    head: AtomicU64,
    /// Position one past the current segment's last slot (0 before the first segment).
    limit: AtomicU64,
    /// The current segment's slots, offset back by its `base`, so that slot `head` is `slots + head`.
    slots: AtomicPtr<Record>,
    /// The current segment (null before the first).
    current: AtomicPtr<Segment>,
    /// The ring's first segment, where the consumer starts following the sealed chain.
    first: AtomicPtr<Segment>,
    /// Segments ever sealed.
    sealed: AtomicU64,
    /// Segments taken from the free list and not used yet (a chain only the producer touches).
    spare: AtomicPtr<Segment>,
    /// Records refused because the ring was full (or re-entered, or out of memory).
    dropped: AtomicU64,
    /// One past the position of the latest record that carries an `Extra` (0: none yet), so the
    /// consumer knows without looking whether a range it takes owns anything to drop.
    last_extra: AtomicU64,
    /// Set when the producer has asked the collector for a drain it has not done yet.
    woke: AtomicBool,
    /// Set while the producer is inside the per-segment path: a push arriving meanwhile (from an
    /// allocator that records spans) is dropped and counted instead of interleaving with it.
    switching: AtomicBool,
}

/// Fields only the collector writes.
struct ConsumerSide {
    /// Records ever taken.
    tail: AtomicU64,
    /// Segments ever taken from the sealed chain.
    unsealed: AtomicU64,
    /// The oldest segment not yet taken (null until the consumer first looks): the next sealed one,
    /// or the current one when none waits.
    cursor: AtomicPtr<Segment>,
    /// Who takes right now (a [`thread_token`], 0: nobody): the collector, or the producer handing its
    /// segments over itself.
    taking: AtomicUsize,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Stored; nothing else to do.
    Stored,
    /// Stored, and a quarter of the ring's sealed segments are waiting: wake the collector.
    Wake,
    /// The ring was full (or the push re-entered the per-segment path): dropped and counted.
    Dropped,
}

pub(crate) struct Ring {
    producer: Padded<ProducerSide>,
    consumer: Padded<ConsumerSide>,
    /// Sealed segments that may wait for the consumer at most.
    max_sealed: u64,
    /// Records per segment.
    segment: u64,
    free: Arc<FreeList>,
}

// SAFETY: record slots are written only by the single producer at positions >= `head`, and read by the
// single consumer only below `head` (after an acquire load of it, or of `sealed` for a sealed segment);
// a segment is reused only after the consumer handed it to a `Run` and the run gave it back. The callers
// uphold single-producer (the ring is reachable for pushing only from its owner thread) and
// single-consumer (only one collector takes, under the take lock).
unsafe impl Sync for Ring {}
unsafe impl Send for Ring {}

impl Ring {
    /// A ring holding about `capacity` records (rounded up to a power of two, 2 to 2^30), in segments
    /// of at most `max_segment` records (at most [`SEGMENT`]; the batch size, so one segment never
    /// exceeds a batch). Nothing is allocated until the first push.
    pub fn new(capacity: usize, max_segment: usize) -> Ring {
        let capacity = capacity.clamp(2, 1 << 30).next_power_of_two();
        let segment = capacity.min(SEGMENT).min(max_segment.max(1));
        let max_sealed = (capacity / segment).max(1) as u64;
        Ring {
            producer: Padded(ProducerSide {
                head: AtomicU64::new(0),
                limit: AtomicU64::new(0),
                slots: AtomicPtr::new(ptr::null_mut()),
                current: AtomicPtr::new(ptr::null_mut()),
                first: AtomicPtr::new(ptr::null_mut()),
                sealed: AtomicU64::new(0),
                spare: AtomicPtr::new(ptr::null_mut()),
                dropped: AtomicU64::new(0),
                last_extra: AtomicU64::new(0),
                woke: AtomicBool::new(false),
                switching: AtomicBool::new(false),
            }),
            consumer: Padded(ConsumerSide {
                tail: AtomicU64::new(0),
                unsealed: AtomicU64::new(0),
                cursor: AtomicPtr::new(ptr::null_mut()),
                taking: AtomicUsize::new(0),
            }),
            max_sealed,
            segment: segment as u64,
            free: Arc::new(FreeList {
                head: AtomicPtr::new(ptr::null_mut()),
                len: AtomicUsize::new(0),
                keep: (max_sealed as usize + 1).min(KEEP_FREE),
            }),
        }
    }

    /// Pushes one record, made by `record` straight into its slot (no copy through the stack). Must only
    /// be called by the ring's producer thread. When the ring is full, `record` is never called.
    #[inline(always)]
    pub fn push(&self, record: impl FnOnce() -> Record) -> Push {
        let p = &self.producer.0;
        let head = p.head.load(Ordering::Relaxed);
        if head >= p.limit.load(Ordering::Relaxed) {
            return self.push_at_segment_end(record);
        }
        // SAFETY: `head` is inside the current segment (`head < limit`), which only we write.
        let slot = p.slots.load(Ordering::Relaxed).wrapping_add(head as usize);
        unsafe { slot.write(record()) };
        // SAFETY: just written, still ours until `head` is published.
        if unsafe { (*slot).extra.is_some() } {
            p.last_extra.store(head + 1, Ordering::Relaxed);
        }
        p.head.store(head + 1, Ordering::Release);
        Push::Stored
    }

    #[cold]
    #[inline(never)]
    fn push_at_segment_end(&self, record: impl FnOnce() -> Record) -> Push {
        let p = &self.producer.0;
        // Only this thread touches `switching`: relaxed is enough, it orders nothing across threads.
        if p.switching.swap(true, Ordering::Relaxed) {
            self.count_drop();
            return Push::Dropped;
        }
        // Cleared however this ends: a hand-off that unwinds must not leave every later push dropped.
        struct Switching<'a>(&'a AtomicBool);
        impl Drop for Switching<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Relaxed);
            }
        }
        let switching = Switching(&p.switching);
        let mut next = self.next_segment();
        if next.is_none() {
            // Full: hand the sealed segments over ourselves (or find the collector took them meanwhile).
            crate::collect::collector::hand_off(self);
            next = self.next_segment();
        }
        drop(switching);
        let Some((wake, crowded)) = next else {
            self.count_drop();
            return Push::Dropped;
        };
        if crowded {
            // The collector, woken when a quarter of the ring was sealed, has not come: it may be
            // queued behind this very thread on its CPU (the scheduler often wakes it here) and then
            // runs only when this thread's time slice ends, milliseconds later. Let it run first. One
            // `sched_yield` per segment at most, and only under this pressure; it never waits.
            std::thread::yield_now();
        }
        match self.push(record) {
            Push::Stored if wake => Push::Wake,
            pushed => pushed,
        }
    }

    fn count_drop(&self) {
        let p = &self.producer.0;
        p.dropped.store(p.dropped.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Seals the full current segment (if any) and starts a new one. `None` when the ring is full
    /// (or no memory is left for a segment); else whether the collector should be woken, and whether
    /// three quarters of the sealed segments the ring may hold are waiting.
    fn next_segment(&self) -> Option<(bool, bool)> {
        let p = &self.producer.0;
        let head = p.head.load(Ordering::Relaxed);
        let full = NonNull::new(p.current.load(Ordering::Relaxed));
        let sealed = p.sealed.load(Ordering::Relaxed);
        let waiting = sealed - self.consumer.0.unsealed.load(Ordering::Acquire);
        if full.is_some() && waiting >= self.max_sealed {
            return None;
        }
        // Everything that can fail or allocate happens before the ring changes.
        let segment = self.spare_segment()?;
        // SAFETY: a segment nobody else holds; its header is written before it is published.
        unsafe {
            (*segment.as_ptr()).base = head;
            (*segment.as_ptr()).sealed_next.store(ptr::null_mut(), Ordering::Relaxed);
        }
        let (mut wake, mut crowded) = (false, false);
        match full {
            Some(full) => {
                // SAFETY: the full segment is ours until `sealed` publishes it.
                unsafe { (*full.as_ptr()).sealed_next.store(segment.as_ptr(), Ordering::Release) };
                p.sealed.store(sealed + 1, Ordering::Release);
                wake = (waiting + 1) * 4 >= self.max_sealed && !p.woke.swap(true, Ordering::AcqRel);
                crowded = (waiting + 1) * 4 >= self.max_sealed * 3;
            }
            None => p.first.store(segment.as_ptr(), Ordering::Release),
        }
        p.slots.store(Segment::slots(segment).wrapping_sub(head as usize), Ordering::Relaxed);
        p.limit.store(head + self.segment, Ordering::Relaxed);
        p.current.store(segment.as_ptr(), Ordering::Release);
        Some((wake, crowded))
    }

    /// A segment from the free list, or a new one (`None` when out of memory).
    fn spare_segment(&self) -> Option<NonNull<Segment>> {
        let p = &self.producer.0;
        let mut spare = p.spare.load(Ordering::Relaxed);
        if spare.is_null() {
            spare = self.free.take_all();
        }
        match NonNull::new(spare) {
            Some(segment) => {
                // SAFETY: the spare chain is the producer's own.
                p.spare.store(unsafe { (*segment.as_ptr()).next }, Ordering::Relaxed);
                Some(segment)
            }
            None => Segment::allocate(self.segment as usize),
        }
    }

    /// Takes every record the producer has handed over, calling `out` with each run: sealed segments by
    /// pointer and, when `everything`, a copy of the current segment's published records too. Waits
    /// while another thread takes from this ring. Returns how many records were taken.
    pub fn take(&self, everything: bool, out: &mut impl FnMut(Run)) -> usize {
        loop {
            if let Some(n) = self.try_take(everything, out) {
                return n;
            }
            std::thread::yield_now();
        }
    }

    /// [`take`](Self::take), or `None` at once when another thread is taking from this ring.
    pub fn try_take(&self, everything: bool, out: &mut impl FnMut(Run)) -> Option<usize> {
        self.try_take_or_holder(everything, out).ok()
    }

    /// [`try_take`](Self::try_take), saying who holds the consumer side when it is taken: this very
    /// thread (`true`: inside a take of its own, waiting would never end) or another.
    pub fn try_take_or_holder(&self, everything: bool, out: &mut impl FnMut(Run)) -> Result<usize, bool> {
        let taking = &self.consumer.0.taking;
        let me = thread_token();
        if let Err(holder) = taking.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            return Err(holder == me);
        }
        struct Release<'a>(&'a AtomicUsize);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(0, Ordering::Release);
            }
        }
        let _release = Release(taking);
        Ok(self.take_exclusive(everything, out))
    }

    /// The taking itself; the caller holds `taking`.
    fn take_exclusive(&self, everything: bool, out: &mut impl FnMut(Run)) -> usize {
        let p = &self.producer.0;
        let c = &self.consumer.0;
        let start = c.tail.load(Ordering::Relaxed);
        let mut tail = start;
        let mut cursor = c.cursor.load(Ordering::Relaxed);
        // Two rounds at most: a segment sealed while we looked is taken in the second.
        for _ in 0..2 {
            let sealed = p.sealed.load(Ordering::Acquire);
            let mut unsealed = c.unsealed.load(Ordering::Relaxed);
            if cursor.is_null() && (sealed > 0 || p.head.load(Ordering::Acquire) > 0) {
                cursor = p.first.load(Ordering::Acquire);
            }
            while unsealed < sealed {
                let segment = NonNull::new(cursor).expect("a sealed segment");
                // SAFETY: sealed, so the producer wrote its successor and no longer writes it; published
                // by the acquire load of `sealed` above.
                let (base, next) =
                    unsafe { ((*segment.as_ptr()).base, (*segment.as_ptr()).sealed_next.load(Ordering::Acquire)) };
                cursor = next;
                unsealed += 1;
                c.cursor.store(cursor, Ordering::Relaxed);
                c.unsealed.store(unsealed, Ordering::Release);
                let end = base + self.segment;
                if tail < end {
                    let from = tail.max(base);
                    out(Run::segment(
                        segment,
                        (from - base) as usize,
                        (end - from) as usize,
                        self.extra(from),
                        &self.free,
                    ));
                    tail = end;
                } else {
                    self.free.put(segment);
                }
            }
            if !everything || cursor.is_null() {
                break;
            }
            let head = p.head.load(Ordering::Acquire);
            if head <= tail {
                break;
            }
            // SAFETY: the cursor is the segment holding record `tail`, not yet taken, so it is neither
            // freed nor reused; its `base` was written before it was published.
            let base = unsafe { (*cursor).base };
            if head > base + self.segment {
                continue; // it was sealed meanwhile: take it whole in the second round
            }
            let n = (head - tail) as usize;
            let mut copy = Vec::<MaybeUninit<Record>>::with_capacity(n);
            // SAFETY: records `tail..head` of this segment were published by the release store of
            // `head`; the producer writes only at `head` and beyond. They are moved out bitwise: the
            // segment's copy is never read or dropped again (`tail` moves past them).
            unsafe {
                let from =
                    (Segment::slots(NonNull::new_unchecked(cursor)) as *const Record).add((tail - base) as usize);
                ptr::copy_nonoverlapping(from, copy.as_mut_ptr() as *mut Record, n);
                copy.set_len(n);
            }
            out(Run::copied(copy, self.extra(tail)));
            tail = head;
            break;
        }
        c.tail.store(tail, Ordering::Release);
        if c.unsealed.load(Ordering::Relaxed) == p.sealed.load(Ordering::Acquire) {
            p.woke.store(false, Ordering::Release);
        }
        (tail - start) as usize
    }

    /// Whether records from position `from` on may carry an `Extra`.
    fn extra(&self, from: u64) -> bool {
        self.producer.0.last_extra.load(Ordering::Relaxed) > from
    }

    /// The ring's counters, each read once: `taken` first, so `taken <= pushed` in every snapshot.
    pub fn counts(&self) -> Counts {
        let taken = self.consumer.0.tail.load(Ordering::Acquire);
        let pushed = self.producer.0.head.load(Ordering::Acquire);
        let dropped = self.producer.0.dropped.load(Ordering::Acquire);
        Counts { pushed, dropped, taken }
    }

    /// Records pushed and not yet taken.
    pub fn len(&self) -> u64 {
        let c = self.counts();
        c.pushed - c.taken
    }
}

/// A snapshot of one ring's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Records ever stored.
    pub pushed: u64,
    /// Records refused (ring full, re-entered, out of memory).
    pub dropped: u64,
    /// Records ever taken by a consumer.
    pub taken: u64,
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Drop what nobody took (and give the sealed segments back), then free the rest.
        self.take(true, &mut |run: Run| drop(run));
        if let Some(current) = NonNull::new(*self.producer.0.current.get_mut()) {
            // SAFETY: the current segment is never sealed nor on a free list; its records were taken.
            unsafe { Segment::free(current) };
        }
        free_chain(*self.producer.0.spare.get_mut());
    }
}

/// Records taken out of a ring, owned until dropped: a range of a sealed segment (given back to its
/// ring's free list on drop) or a copy of an unsealed one.
pub(crate) struct Run {
    records: NonNull<Record>,
    len: usize,
    /// Whether any record may carry an `Extra` that must be dropped.
    extra: bool,
    storage: Storage,
}

enum Storage {
    Segment(NonNull<Segment>, Arc<FreeList>),
    /// The records, moved out of an unsealed segment; dropped by the run, never by the `Vec`.
    Copied(#[allow(dead_code)] Vec<MaybeUninit<Record>>),
}

// SAFETY: a run owns its records and its storage; records are `Send` (an `Extra` holds `Send` data).
unsafe impl Send for Run {}
unsafe impl Sync for Run {}

impl Run {
    fn segment(segment: NonNull<Segment>, from: usize, len: usize, extra: bool, free: &Arc<FreeList>) -> Run {
        // SAFETY: `from + len` is within the segment's slots.
        let records = unsafe { NonNull::new_unchecked(Segment::slots(segment).add(from)) };
        Run { records, len, extra, storage: Storage::Segment(segment, free.clone()) }
    }

    fn copied(mut copy: Vec<MaybeUninit<Record>>, extra: bool) -> Run {
        let records = NonNull::new(copy.as_mut_ptr() as *mut Record).expect("non-empty copy");
        Run { records, len: copy.len(), extra, storage: Storage::Copied(copy) }
    }

    /// The records, in the order they were pushed.
    pub fn records(&self) -> &[Record] {
        // SAFETY: `len` initialised records owned by this run.
        unsafe { std::slice::from_raw_parts(self.records.as_ptr(), self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Records moved out of the ring by their owner (the keep-errors rule's buffer).
    pub fn owned(records: Vec<Record>) -> Option<Run> {
        let copy: Vec<MaybeUninit<Record>> = records.into_iter().map(MaybeUninit::new).collect();
        (!copy.is_empty()).then(|| Run::copied(copy, true))
    }

    /// Moves the records `take` picks out of the run (to `out`, in order) and closes the gap, so the
    /// run holds only the others, still in order.
    pub fn sift(&mut self, mut take: impl FnMut(&Record) -> bool, mut out: impl FnMut(Record)) {
        let base = self.records.as_ptr();
        // Should `take` or `out` panic, the run forgets its records (leaks) rather than drop one twice.
        let len = std::mem::replace(&mut self.len, 0);
        let mut kept = 0;
        for i in 0..len {
            // SAFETY: slots `0..len` are initialised and owned by the run; slot `i` is read exactly once,
            // either moved to `out` or moved down to `kept <= i`, so every record keeps one owner and the
            // slots past the new `len` are left logically uninitialised (never dropped by the run).
            unsafe {
                let slot = base.add(i);
                if take(&*slot) {
                    out(ptr::read(slot));
                } else {
                    if kept != i {
                        ptr::copy_nonoverlapping(slot, base.add(kept), 1);
                    }
                    kept += 1;
                }
            }
        }
        self.len = kept;
    }
}

/// Records without an `Extra` own nothing: their memory is given back without a pass over it, so lines
/// the producer wrote are not pulled into this thread's cache only to be thrown away.
impl Drop for Run {
    fn drop(&mut self) {
        if self.extra {
            // SAFETY: owned, initialised, dropped once (the storage never drops records).
            unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.records.as_ptr(), self.len)) };
        }
        if let Storage::Segment(segment, free) = &self.storage {
            free.put(*segment);
        }
    }
}

#[cfg(test)]
mod concurrent;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::callsite::{CallSite, SpanKind};

    static SITE: CallSite = CallSite::new("t", SpanKind::Internal, "m", "f", 1);

    fn record(i: u64) -> Record {
        Record {
            trace_id: 1,
            site: Record::site_word(&SITE, 0),
            span_id: i,
            parent_id: 0,
            start: i,
            end: i,
            extra: None,
        }
    }

    fn take(ring: &Ring, everything: bool) -> Vec<u64> {
        let mut ids = Vec::new();
        ring.take(everything, &mut |run: Run| ids.extend(run.records().iter().map(|r| r.span_id)));
        ids
    }

    #[test]
    fn sealed_segments_pass_by_pointer_and_the_tail_is_copied_on_demand() {
        let ring = Ring::new(64, 16);
        (0..40).for_each(|i| assert_ne!(ring.push(|| record(i)), Push::Dropped));
        assert_eq!(take(&ring, false), (0..32).collect::<Vec<_>>(), "two sealed segments");
        assert_eq!(take(&ring, true), (32..40).collect::<Vec<_>>(), "the unsealed tail");
        (40..50).for_each(|i| assert_ne!(ring.push(|| record(i)), Push::Dropped));
        assert_eq!(take(&ring, true), (40..50).collect::<Vec<_>>(), "the rest of a partly copied segment");
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn a_full_ring_drops_and_counts_and_recovers() {
        let ring = Ring::new(32, 16);
        let pushed: Vec<_> = (0..100).map(|i| ring.push(|| record(i))).collect();
        let stored = pushed.iter().filter(|p| **p != Push::Dropped).count();
        assert_eq!(stored, 48, "two sealed segments + the current one");
        assert_eq!(ring.counts(), Counts { pushed: 48, dropped: 52, taken: 0 });
        assert_eq!(take(&ring, true).len(), 48);
        assert_ne!(ring.push(|| record(100)), Push::Dropped);
        assert_eq!(take(&ring, true), vec![100]);
    }

    #[test]
    fn segments_are_reused_once_runs_are_dropped() {
        let ring = Ring::new(32, 16);
        let mut runs = Vec::new();
        for round in 0..10u64 {
            (0..32).for_each(|i| assert_ne!(ring.push(|| record(round * 32 + i)), Push::Dropped));
            ring.take(false, &mut |run| runs.push(run));
            runs.clear();
        }
        assert!(ring.free.len.load(Ordering::Relaxed) <= ring.free.keep);
        assert_eq!(ring.counts().dropped, 0);
    }

    #[test]
    fn a_segment_is_as_large_as_the_ring_needs() {
        // A one-record batch size makes one-record segments: one header and one slot, not 1024 slots.
        assert_eq!(Segment::layout(1).size(), 128);
        assert_eq!(Segment::layout(SEGMENT).size(), 64 + 64 * SEGMENT);
        let ring = Ring::new(1 << 20, 1);
        (0..5).for_each(|i| assert_ne!(ring.push(|| record(i)), Push::Dropped));
        assert_eq!(take(&ring, false), (0..4).collect::<Vec<_>>(), "four sealed one-record segments");
        assert_eq!(take(&ring, true), vec![4]);
    }

    #[test]
    fn a_push_while_switching_segments_is_dropped_and_counted() {
        let ring = Ring::new(32, 16);
        ring.producer.0.switching.store(true, Ordering::Relaxed);
        assert_eq!(ring.push(|| record(0)), Push::Dropped, "the first push needs a segment");
        ring.producer.0.switching.store(false, Ordering::Relaxed);
        assert_ne!(ring.push(|| record(1)), Push::Dropped);
        assert_eq!(ring.counts(), Counts { pushed: 1, dropped: 1, taken: 0 });
        assert_eq!(take(&ring, true), vec![1]);
    }

    #[test]
    fn a_huge_capacity_costs_nothing_up_front() {
        let ring = Ring::new(usize::MAX, SEGMENT);
        assert_eq!(ring.max_sealed, (1 << 30) / SEGMENT as u64);
        assert_ne!(ring.push(|| record(0)), Push::Dropped);
        assert_eq!(take(&ring, true), vec![0]);
    }
}

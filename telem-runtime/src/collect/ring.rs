//! A thread's bounded ring of [`Record`]s, made of segments that change hands instead of being copied.
//!
//! The owning thread (the producer) writes records into its current *segment* (up to 1024 records,
//! 64 KiB). A full segment is *sealed*: its pointer goes into a small single-producer single-consumer
//! queue, and the producer carries on in a fresh segment. The collector (the one consumer) takes sealed
//! segments by pointer and hands them to exporters inside [`Run`]s; when the last exporter is done with
//! a batch, the segment goes back to its ring's free list and the producer reuses it. So no thread ever
//! copies a span's 64 bytes from the core that wrote them: the collector touches pointers only, and an
//! exporter that reads spans reads each line once. Only the unsealed tail of the current segment is
//! copied, and only when the collector must hand over everything (a flush, the export interval,
//! shutdown, or an exited thread).
//!
//! Bounds: at most `capacity / segment` sealed segments wait for the collector; when that queue is full
//! and the current segment is full, new records are dropped and counted. Segments held by exporters are
//! bounded by the exporters' queue capacity; the free list keeps at most as many as the ring can hold.
//!
//! The hot path is: load the position, compare with the current segment's end, write the slot, publish
//! the position. Everything else (sealing, finding a segment, waking the collector) happens once per
//! segment, out of line.

use crate::trace::record::Record;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Records per segment at most: 64 KiB, under the allocator's `mmap` threshold, so a segment that is
/// freed and allocated again comes from its free lists without page faults.
pub(crate) const SEGMENT: usize = 1024;

/// Pads a value to its own cache lines so producer and consumer fields never share one.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

/// A block of record slots. Its records are `MaybeUninit`: dropping a segment never drops records;
/// the [`Run`] that owns a range of them does.
pub(crate) struct Segment {
    records: [MaybeUninit<Record>; SEGMENT],
    /// Position (in the ring's sequence of records) of `records[0]`; set when the producer starts it.
    base: u64,
    /// Next segment in the free list.
    next: *mut Segment,
}

impl Segment {
    fn allocate() -> NonNull<Segment> {
        let segment = Box::<Segment>::new_uninit();
        // SAFETY: the header fields are written before use (`base` when the producer starts the
        // segment, `next` when it is put on a free list); the records are `MaybeUninit`.
        NonNull::from(Box::leak(segment)).cast()
    }

    /// # Safety
    /// `segment` came from [`Segment::allocate`] and nobody else holds it.
    unsafe fn free(segment: NonNull<Segment>) {
        drop(unsafe { Box::<MaybeUninit<Segment>>::from_raw(segment.as_ptr().cast()) });
    }

    fn slots(segment: NonNull<Segment>) -> *mut Record {
        // SAFETY: in bounds of the allocation; no reference to the records is made.
        unsafe { ptr::addr_of_mut!((*segment.as_ptr()).records) as *mut Record }
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
    /// The current segment (null before the first); read by the collector to copy its unsealed part.
    current: AtomicPtr<Segment>,
    /// Segments ever sealed.
    sealed: AtomicU64,
    /// Segments taken from the free list and not used yet (a chain only the producer touches).
    spare: AtomicPtr<Segment>,
    /// Records refused because the ring was full.
    dropped: AtomicU64,
    /// One past the position of the latest record that carries an `Extra` (0: none yet), so the
    /// consumer knows without looking whether a range it takes owns anything to drop.
    last_extra: AtomicU64,
    /// Set when the producer has asked the collector for a drain it has not done yet.
    woke: AtomicBool,
}

/// Fields only the collector writes.
struct ConsumerSide {
    /// Records ever taken.
    tail: AtomicU64,
    /// Segments ever taken from the sealed queue.
    unsealed: AtomicU64,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Stored; nothing else to do.
    Stored,
    /// Stored, and a quarter of the sealed queue is waiting: wake the collector.
    Wake,
    /// The ring was full: the record was dropped and counted.
    Dropped,
}

pub(crate) struct Ring {
    producer: Padded<ProducerSide>,
    consumer: Padded<ConsumerSide>,
    /// Sealed segments, indexed by their sealing number modulo the length.
    queue: Box<[AtomicPtr<Segment>]>,
    /// Records per segment.
    segment: u64,
    free: Arc<FreeList>,
}

// SAFETY: record slots are written only by the single producer at positions >= `head`, and read by the
// single consumer only below `head` (after an acquire load of it, or of `sealed` for a sealed segment);
// a segment is reused only after the consumer handed it to a `Run` and the run gave it back. The callers
// uphold single-producer (the ring is reachable for pushing only from its owner thread) and
// single-consumer (only the collector takes, under the registry lock).
unsafe impl Sync for Ring {}
unsafe impl Send for Ring {}

impl Ring {
    /// A ring holding about `capacity` records (rounded up to a power of two, at least 2), in segments of
    /// at most `max_segment` records (at most [`SEGMENT`]; the batch size, so one segment never exceeds
    /// a batch). Nothing is allocated until the first push.
    pub fn new(capacity: usize, max_segment: usize) -> Ring {
        let capacity = capacity.max(2).next_power_of_two();
        let segment = capacity.min(SEGMENT).min(max_segment.max(1));
        let queue_len = (capacity / segment).max(1);
        Ring {
            producer: Padded(ProducerSide {
                head: AtomicU64::new(0),
                limit: AtomicU64::new(0),
                slots: AtomicPtr::new(ptr::null_mut()),
                current: AtomicPtr::new(ptr::null_mut()),
                sealed: AtomicU64::new(0),
                spare: AtomicPtr::new(ptr::null_mut()),
                dropped: AtomicU64::new(0),
                last_extra: AtomicU64::new(0),
                woke: AtomicBool::new(false),
            }),
            consumer: Padded(ConsumerSide { tail: AtomicU64::new(0), unsealed: AtomicU64::new(0) }),
            queue: (0..queue_len).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            segment: segment as u64,
            free: Arc::new(FreeList {
                head: AtomicPtr::new(ptr::null_mut()),
                len: AtomicUsize::new(0),
                keep: queue_len + 1,
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
        let Some((wake, crowded)) = self.next_segment() else {
            let p = &self.producer.0;
            p.dropped.store(p.dropped.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            return Push::Dropped;
        };
        if crowded {
            // The collector, woken when a quarter of the queue was sealed, has not come: it may be
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

    /// Seals the full current segment (if any) and starts a new one. `None` when the sealed queue is
    /// full; else whether the collector should be woken, and whether three quarters of the queue wait.
    fn next_segment(&self) -> Option<(bool, bool)> {
        let p = &self.producer.0;
        let head = p.head.load(Ordering::Relaxed);
        let (mut wake, mut crowded) = (false, false);
        if let Some(full) = NonNull::new(p.current.load(Ordering::Relaxed)) {
            let len = self.queue.len() as u64;
            let sealed = p.sealed.load(Ordering::Relaxed);
            let waiting = sealed - self.consumer.0.unsealed.load(Ordering::Acquire);
            if waiting >= len {
                return None;
            }
            self.queue[(sealed % len) as usize].store(full.as_ptr(), Ordering::Relaxed);
            p.sealed.store(sealed + 1, Ordering::Release);
            wake = (waiting + 1) * 4 >= len && !p.woke.swap(true, Ordering::AcqRel);
            crowded = (waiting + 1) * 4 >= len * 3;
        }
        let segment = self.spare_segment();
        // SAFETY: a segment nobody else holds; its base is set before it is published.
        unsafe { (*segment.as_ptr()).base = head };
        p.slots.store(Segment::slots(segment).wrapping_sub(head as usize), Ordering::Relaxed);
        p.limit.store(head + self.segment, Ordering::Relaxed);
        p.current.store(segment.as_ptr(), Ordering::Release);
        Some((wake, crowded))
    }

    /// A segment from the free list, or a new one.
    fn spare_segment(&self) -> NonNull<Segment> {
        let p = &self.producer.0;
        let mut spare = p.spare.load(Ordering::Relaxed);
        if spare.is_null() {
            spare = self.free.take_all();
        }
        match NonNull::new(spare) {
            Some(segment) => {
                // SAFETY: the spare chain is the producer's own.
                p.spare.store(unsafe { (*segment.as_ptr()).next }, Ordering::Relaxed);
                segment
            }
            None => Segment::allocate(),
        }
    }

    /// Takes every record the producer has handed over, calling `out` with each run: sealed segments by
    /// pointer and, when `everything`, a copy of the current segment's published records too. Must
    /// only be called by the one consumer. Returns how many records were taken.
    pub fn take(&self, everything: bool, out: &mut impl FnMut(Run)) -> usize {
        let p = &self.producer.0;
        let c = &self.consumer.0;
        let start = c.tail.load(Ordering::Relaxed);
        let mut tail = start;
        // Two rounds at most: a segment sealed while we looked is taken in the second.
        for _ in 0..2 {
            let sealed = p.sealed.load(Ordering::Acquire);
            let mut unsealed = c.unsealed.load(Ordering::Relaxed);
            while unsealed < sealed {
                let slot = &self.queue[(unsealed % self.queue.len() as u64) as usize];
                let segment = NonNull::new(slot.load(Ordering::Relaxed)).expect("sealed segment");
                unsealed += 1;
                c.unsealed.store(unsealed, Ordering::Release);
                // SAFETY: sealed, so the producer no longer writes it; published by the acquire above.
                let base = unsafe { (*segment.as_ptr()).base };
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
            if !everything {
                break;
            }
            let head = p.head.load(Ordering::Acquire);
            if head <= tail {
                break;
            }
            // Read after `head`, so it is the segment holding record `head - 1` or a later one. Still
            // valid: a segment is freed or reused only after this consumer took it from the queue.
            let current = p.current.load(Ordering::Acquire);
            // SAFETY: non-null once `head > 0`; its `base` was written before it was published.
            let base = unsafe { (*current).base };
            if base <= tail {
                debug_assert!(head <= base + self.segment, "records past the current segment");
                let n = (head - tail) as usize;
                let mut copy = Vec::<MaybeUninit<Record>>::with_capacity(n);
                // SAFETY: records `tail..head` of this segment were published by the release store of
                // `head`; the producer writes only at `head` and beyond. They are moved out bitwise: the
                // segment's copy is never read or dropped again (`tail` moves past them).
                unsafe {
                    let from =
                        (Segment::slots(NonNull::new_unchecked(current)) as *const Record).add((tail - base) as usize);
                    ptr::copy_nonoverlapping(from, copy.as_mut_ptr() as *mut Record, n);
                    copy.set_len(n);
                }
                out(Run::copied(copy, self.extra(tail)));
                tail = head;
                break;
            }
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

    /// Records ever pushed plus records dropped because the ring was full.
    pub fn recorded(&self) -> u64 {
        self.producer.0.head.load(Ordering::Acquire) + self.dropped()
    }

    /// Records dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.producer.0.dropped.load(Ordering::Acquire)
    }

    /// Records pushed and not yet taken.
    pub fn len(&self) -> u64 {
        let tail = self.consumer.0.tail.load(Ordering::Acquire);
        self.producer.0.head.load(Ordering::Acquire).saturating_sub(tail)
    }
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
    Copied(#[allow(dead_code)] Vec<MaybeUninit<Record>>),
}

// SAFETY: a run owns its records and its storage; records are `Send` (an `Extra` holds `Send` data).
unsafe impl Send for Run {}
unsafe impl Sync for Run {}

impl Run {
    fn segment(segment: NonNull<Segment>, from: usize, len: usize, extra: bool, free: &Arc<FreeList>) -> Run {
        // SAFETY: `from + len <= SEGMENT`.
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
        assert_eq!(ring.dropped(), 52);
        assert_eq!(ring.recorded(), 100);
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
        assert_eq!(ring.dropped(), 0);
    }
}

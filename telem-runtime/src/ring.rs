//! A bounded single-producer single-consumer ring of [`Record`]s.
//!
//! The owning thread is the only producer; the collector is the only consumer. The producer keeps a
//! private copy of the consumer's position and only reads the shared one when its copy says the ring is
//! getting full, so in steady state a push touches the producer's own line and one slot line.

use crate::record::Record;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Pads a value to its own cache lines so producer and consumer fields never share one.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

pub(crate) struct ProducerSide {
    /// Records ever pushed. Written only by the producer.
    head: AtomicU64,
    /// The producer's last view of `tail`.
    cached_tail: AtomicU64,
    /// Records refused because the ring was full.
    dropped: AtomicU64,
    /// Set when the producer has asked the collector for a drain it has not done yet.
    woke: AtomicBool,
    /// One past the position of the latest record that carries an `Extra` (0: none yet), so the
    /// consumer knows without looking whether a drained range owns anything to free.
    last_extra: AtomicU64,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Stored; nothing else to do.
    Stored,
    /// Stored, and the ring crossed its high-water mark: wake the collector.
    Wake,
    /// The ring was full: the record was dropped and counted.
    Dropped,
}

pub(crate) struct Ring {
    producer: Padded<ProducerSide>,
    /// Records ever taken by the consumer. Written only by the consumer.
    tail: Padded<AtomicU64>,
    slots: Box<UnsafeCell<[MaybeUninit<Record>]>>,
    mask: u64,
    high_water: u64,
}

// SAFETY: slots are written only by the single producer between `tail` and `head`, and read only by the
// single consumer between `tail` and `head` after an acquire load of `head`; the callers uphold
// single-producer (the ring is reachable for pushing only from its owner thread) and single-consumer
// (only the collector drains, under the registry lock).
unsafe impl Sync for Ring {}
unsafe impl Send for Ring {}

impl Ring {
    /// A ring of `capacity` slots (rounded up to a power of two, at least 2). Slot memory is reserved but
    /// not touched, so the OS backs only the pages a thread actually fills.
    pub fn new(capacity: usize) -> Ring {
        let capacity = capacity.max(2).next_power_of_two();
        let slots = Box::<[Record]>::new_uninit_slice(capacity);
        // SAFETY: `UnsafeCell<T>` has the same layout as `T`, so the box can be reinterpreted.
        let slots = unsafe { Box::from_raw(Box::into_raw(slots) as *mut UnsafeCell<[MaybeUninit<Record>]>) };
        Ring {
            producer: Padded(ProducerSide {
                head: AtomicU64::new(0),
                cached_tail: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                woke: AtomicBool::new(false),
                last_extra: AtomicU64::new(0),
            }),
            tail: Padded(AtomicU64::new(0)),
            slots,
            mask: capacity as u64 - 1,
            high_water: (capacity as u64 / 2).max(1),
        }
    }

    /// The slot for position `i`.
    #[inline(always)]
    fn slot(&self, i: u64) -> *mut Record {
        // SAFETY: the index is masked into bounds; the cell gives the right to write through it.
        unsafe { (self.slots.get() as *mut MaybeUninit<Record>).add((i & self.mask) as usize) as *mut Record }
    }

    /// Pushes one record, made by `record` straight into its slot (no copy through the stack). Must only
    /// be called by the ring's producer thread. When the ring is full, `record` is never called.
    #[inline(always)]
    pub fn push(&self, record: impl FnOnce() -> Record) -> Push {
        let p = &self.producer.0;
        let head = p.head.load(Ordering::Relaxed);
        let mut tail = p.cached_tail.load(Ordering::Relaxed);
        if head - tail > self.mask {
            tail = self.tail.0.load(Ordering::Acquire);
            p.cached_tail.store(tail, Ordering::Relaxed);
            if head - tail > self.mask {
                p.dropped.store(p.dropped.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                return Push::Dropped;
            }
        }
        // SAFETY: slot `head` is outside `tail..head`, so the consumer does not read it; we are the only producer.
        let slot = self.slot(head);
        unsafe { slot.write(record()) };
        // SAFETY: just written, still ours until `head` is published.
        if unsafe { (*slot).extra.is_some() } {
            p.last_extra.store(head + 1, Ordering::Relaxed);
        }
        p.head.store(head + 1, Ordering::Release);
        if head + 1 - tail >= self.high_water {
            return self.past_high_water(head + 1);
        }
        Push::Stored
    }

    #[cold]
    #[inline(never)]
    fn past_high_water(&self, head: u64) -> Push {
        let p = &self.producer.0;
        let tail = self.tail.0.load(Ordering::Acquire);
        p.cached_tail.store(tail, Ordering::Relaxed);
        if head - tail >= self.high_water && !p.woke.swap(true, Ordering::AcqRel) {
            Push::Wake
        } else {
            Push::Stored
        }
    }

    /// Moves up to `max` records into `out` (two `memcpy`s at most: the ring may wrap); returns how
    /// many, and whether any of them may carry an `Extra` (when none does, the buffer can be reused
    /// without a pass over it). Must only be called by the one consumer.
    pub fn drain_into(&self, out: &mut Vec<Record>, max: usize) -> (usize, bool) {
        let tail = self.tail.0.load(Ordering::Relaxed);
        let head = self.producer.0.head.load(Ordering::Acquire);
        let n = (head - tail).min(max as u64) as usize;
        out.reserve(n);
        let capacity = self.mask as usize + 1;
        let start = (tail & self.mask) as usize;
        let first = n.min(capacity - start);
        // SAFETY: `tail..tail + n` holds initialised records published by the release store of `head`;
        // they are moved out bitwise (once: the store of `tail` below gives the slots back to the
        // producer, which overwrites them without dropping), into spare capacity reserved above.
        unsafe {
            let base = self.slots.get() as *const Record;
            let dst = out.as_mut_ptr().add(out.len());
            std::ptr::copy_nonoverlapping(base.add(start), dst, first);
            std::ptr::copy_nonoverlapping(base, dst.add(first), n - first);
            out.set_len(out.len() + n);
        }
        let extra = self.producer.0.last_extra.load(Ordering::Relaxed) > tail;
        self.tail.0.store(tail + n as u64, Ordering::Release);
        if tail + n as u64 == head {
            self.producer.0.woke.store(false, Ordering::Release);
        }
        (n, extra)
    }

    /// Records ever pushed plus records dropped because the ring was full.
    pub fn recorded(&self) -> u64 {
        self.producer.0.head.load(Ordering::Acquire) + self.dropped()
    }

    /// Records dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.producer.0.dropped.load(Ordering::Acquire)
    }

    /// Records pushed and not yet drained.
    pub fn len(&self) -> u64 {
        let tail = self.tail.0.load(Ordering::Acquire);
        self.producer.0.head.load(Ordering::Acquire).saturating_sub(tail)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let mut rest = Vec::new();
        self.drain_into(&mut rest, usize::MAX);
    }
}

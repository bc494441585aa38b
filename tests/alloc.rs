//! A span with no attributes allocates nothing on the recording thread once its ring is warm, and what
//! a ring allocates is sized to what it uses.

mod common;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

/// Bytes allocated and not freed, the most at any moment, and ever allocated, by every thread.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static EVER: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
    EVER.fetch_add(bytes, Ordering::Relaxed);
}

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        grew(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(|a| a.get())
}

#[telem::span]
fn leaf(x: u64) -> u64 {
    x + 1
}

#[telem::span(kind = server)]
fn root(n: u64) -> u64 {
    (0..n).map(leaf).sum()
}

#[test]
fn spans_without_attributes_do_not_allocate() {
    let (telem, memory) = common::start_with(|b| b.ring_capacity(1 << 16));
    // Warm-up: the first span on a thread sets up its ring; the first manual span of a call site
    // interns its metadata; the ring takes its 64 KiB segments from the allocator until exporters
    // start giving them back, after which it reuses them. All of that happens once.
    let manual = || telem::Span::start("manual").end();
    manual();
    let mut total = 0;
    for _ in 0..2000 {
        total += root(10);
    }
    assert!(telem::flush());
    let before = allocations();
    for _ in 0..1000 {
        total += root(10);
    }
    assert_eq!(allocations() - before, 0, "#[span] without attributes");
    let before = allocations();
    for _ in 0..1000 {
        manual();
    }
    assert_eq!(allocations() - before, 0, "manual spans with a static name");
    assert!(total > 0);
    assert!(telem.shutdown());
    assert_eq!(memory.spans().len(), 33_000 + 1001);
}

const MIB: usize = 1 << 20;

#[test]
fn one_span_batches_held_by_a_stuck_exporter_cost_what_they_hold() {
    // batch_size(1) makes one-record segments; a stuck exporter holds up to its queue capacity of them.
    let gate = common::Gate::default();
    let (telem, memory) = common::start_with(|b| b.batch_size(1).with_exporter("stuck", gate.clone()));
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    for _ in 0..200_000 {
        leaf(1);
    }
    // Until the collector has handed every sealed segment to the exporters' queues (the stuck one
    // holds them); the last record waits in its unsealed segment for the next export.
    for _ in 0..500 {
        if telem::stats().in_rings <= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let peak = PEAK.load(Ordering::Relaxed) - before;
    gate.open();
    assert!(telem.shutdown());
    // 200 000 queued one-span batches: a 128-byte segment each plus the batch and its queue entry,
    // not 64 KiB each (8 GiB); the memory exporter's own copies of 200 000 spans are in the peak too.
    assert!(peak < 256 * MIB, "peak heap {} MiB", peak / MIB);
    // One-span batches can outrun the memory exporter's own queue: what it did not get is counted.
    let m = telem::stats().exporter("memory").unwrap().clone();
    assert_eq!((m.recorded, m.exported + m.dropped, m.in_flight), (200_000, 200_000, 0), "{m:?}");
    assert_eq!(memory.spans().len() as u64, m.exported);
}

#[test]
fn a_huge_ring_capacity_costs_nothing_until_used() {
    let (telem, memory) = common::start_with(|b| b.ring_capacity(1 << 30));
    let before = EVER.load(Ordering::Relaxed);
    for _ in 0..3000 {
        std::thread::spawn(|| leaf(1)).join().unwrap();
    }
    let per_thread = (EVER.load(Ordering::Relaxed) - before) / 3000;
    assert!(telem.shutdown());
    assert_eq!(memory.spans().len(), 3000);
    // One 64 KiB segment per short thread (plus the thread itself), not an 8 MiB sealed-segment queue.
    assert!(per_thread < 512 * 1024, "{} KiB allocated per thread", per_thread / 1024);
}

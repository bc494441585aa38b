//! A global allocator that records spans (instrumented allocators exist) must not corrupt telem: the
//! ring's per-segment path and the making of a thread's ring allocate, so spans arrive re-entrantly
//! from inside telem's own bookkeeping. Each must be recorded correctly or dropped and counted.

mod common;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Records a span on every allocation while switched on.
struct Recording;

static ON: AtomicBool = AtomicBool::new(false);

#[telem::span]
fn on_alloc() {}

unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // No guard of its own: telem must stop the recursion (a span recorded while telem allocates
        // for a span is dropped and counted, never recorded into a ring that is changing hands).
        if ON.load(Ordering::Relaxed) {
            on_alloc();
            if layout.size() % 3 == 0 {
                // Manual spans intern their call site: that locks and allocates too.
                telem::Span::start("alloc.manual").end();
            }
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

#[telem::span(fields(n = n))]
fn work(n: usize) -> usize {
    // Allocates, so every call records spans from inside the allocator as well.
    let v: Vec<u64> = (0..n as u64).collect();
    v.len()
}

fn run(ring_capacity: usize, batch_size: usize) {
    // No deadline that a loaded machine could miss: the memory exporter copies every span.
    let (telem, memory) = common::start_with(|b| {
        b.ring_capacity(ring_capacity).batch_size(batch_size).shutdown_timeout(std::time::Duration::from_secs(600))
    });
    ON.store(true, Ordering::Relaxed);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = 0;
                for i in 0..20_000 {
                    total += work(1 + (i + t) % 7);
                }
                total
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap() > 0);
    }
    ON.store(false, Ordering::Relaxed);
    assert!(telem.shutdown(), "everything exported or counted");
    let stats = telem::stats();
    let memory_stats = stats.exporter("memory").unwrap();
    assert_eq!(memory_stats.recorded, memory_stats.exported + memory_stats.dropped, "{stats:?}");
    assert_eq!(memory_stats.in_flight, 0);
    let spans = memory.spans();
    assert_eq!(spans.len() as u64, memory_stats.exported);
    let works = spans.iter().filter(|s| s.name == "work").count();
    assert!(works > 0, "spans were recorded");
    for s in &spans {
        // Every exported record is a well-formed span of this program: no uninitialised slot.
        assert!(["work", "on_alloc", "alloc.manual"].contains(&s.name.as_str()), "{s:?}");
        assert_ne!(s.span_id.0, 0);
        assert!(s.end_unix_ns >= s.start_unix_ns);
    }
}

#[test]
fn spans_recorded_by_the_allocator_never_corrupt_a_small_ring() {
    // Small segments: the per-segment path (which allocates a segment) runs every 16 spans.
    run(64, 16);
}

#[test]
fn spans_recorded_by_the_allocator_never_corrupt_a_large_ring() {
    // The making of each thread's ring (which allocates and locks) is re-entered too.
    run(1 << 20, 4096);
}

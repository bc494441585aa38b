//! A span with no attributes allocates nothing on the recording thread once its ring is warm.

mod common;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
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

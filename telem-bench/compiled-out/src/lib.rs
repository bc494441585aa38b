//! The compiled-out case: `#[telem::span]` with telem's `enabled` feature off, and a plain call measured
//! in the same process for comparison. Both functions are exactly the shape of `telem_bench::plain` and
//! `telem_bench::telem_span`: an `#[inline(never)]` function whose body is `black_box(())`.

use std::hint::black_box;

/// An empty function call.
#[inline(never)]
pub fn plain() {
    black_box(());
}

/// `#[telem::span]` on an empty function, telem compiled out: the macro returns the function as written.
#[telem::span]
#[inline(never)]
pub fn telem_span() {
    black_box(());
}

/// Starts telem the way a user's `main` would (`telem::init()`-style, console and store off), calls the
/// instrumented function, and checks that nothing was recorded: proof that this build has telem
/// compiled out. Returns the guard, to keep for the duration of the measurement.
pub fn start_and_check() -> telem::Telem {
    let guard = telem::Builder::new().exporter("console", false).exporter("store", false).init();
    telem_span();
    assert!(telem::flush());
    let stats = telem::stats();
    assert_eq!(stats.recorded, 0, "telem is compiled out, yet it recorded a span: {stats:?}");
    guard
}

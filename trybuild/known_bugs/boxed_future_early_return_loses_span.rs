// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// Body ends in `Box::pin(..)` but also has an early `return Box::pin(..)`: only the tail is instrumented,
// the early return drops the FutureSpan (no Drop impl) and the call records no span at all. Compiles;
// fails at run time (1 span instead of 2).
#[path = "../support/mod.rs"]
mod support;
use std::{future::Future, pin::Pin};
#[telem::span(err)]
fn f(flag: bool) -> Pin<Box<dyn Future<Output = Result<u8, String>> + Send>> {
    if flag { return Box::pin(async { Err("early".to_owned()) }); }
    Box::pin(async { Err("late".to_owned()) })
}
fn main() {
    let spans = support::collect(|| {
        let _ = support::block_on(f(true));
        let _ = support::block_on(f(false));
    });
    println!("{spans:#?}");
    assert_eq!(spans.len(), 2, "the early-return call recorded no span");
}

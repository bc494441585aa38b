// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// Pin<Box<dyn Future>> body not ending in `Box::pin(..)`: the fallback `(move || #block)()` has no
// return type, so branches lose their unsizing coercion: error[E0308] `if` and `else` have incompatible types.
use std::{future::Future, pin::Pin};
#[telem::span(ret)]
fn either(flag: bool) -> Pin<Box<dyn Future<Output = u8> + Send + 'static>> {
    if flag {
        Box::pin(async { 1 })
    } else {
        Box::pin(std::future::ready(2))
    }
}
fn main() { let _ = either(true); }

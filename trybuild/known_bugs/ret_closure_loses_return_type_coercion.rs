// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `ret` runs the body in `(move || #block)()` without a return type: coercions to the declared type
// are lost: error[E0308] `if` and `else` have incompatible types.
use std::fmt::Debug;
#[telem::span(ret)]
fn f(flag: bool) -> Box<dyn Debug> {
    if flag { Box::new(1) } else { Box::new("a") }
}
fn main() { let _ = f(true); }

// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `err` runs the body in `(move || #block)()` without a return type: coercions to the declared type
// are lost: error[E0308] `if` and `else` have incompatible types.
use std::fmt::Display;
#[telem::span(err)]
fn f(flag: bool) -> Result<Box<dyn Display>, String> {
    if flag { Ok(Box::new(1)) } else { Ok(Box::new("a")) }
}
fn main() { assert_eq!(f(true).unwrap().to_string(), "1"); }

// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `err` is rejected for a Result alias whose name does not end in `Result` (name heuristic in func::is_result):
// error: `err` needs a function that returns `Result`, this one returns `Fallible < u32 >`.
type Fallible<T> = Result<T, String>;
#[telem::span(err)]
fn f() -> Fallible<u32> { Ok(1) }
fn main() { assert_eq!(f(), Ok(1)); }

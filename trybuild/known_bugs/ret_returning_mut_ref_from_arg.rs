// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `ret` on `fn(&mut Vec<u32>) -> &mut u32`: the `move ||` closure is inferred FnMut, so:
// error: captured variable cannot escape `FnMut` closure body.
#[telem::span(ret)]
fn f(v: &mut Vec<u32>) -> &mut u32 { v.push(1); v.last_mut().unwrap() }
fn main() { let mut v = vec![]; *f(&mut v) = 3; assert_eq!(v, [3]); }

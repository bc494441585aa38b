// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `args` records a parameter removed by `#[cfg]`: error[E0425] cannot find value `a`.
// Fix: copy the parameter's `#[cfg]` attributes onto its recording statement (expand.rs record_attributes).
#[telem::span(args)]
fn f(#[cfg(any())] a: u32, b: u32) -> u32 { b }
fn main() { assert_eq!(f(1), 1); }

// KNOWN MACRO BUG (not run by tests/ui.rs; belongs in ../fail/ once the error is good).
// A struct whose name ends in `Result` passes the `err` check, and the expansion then fails with a
// type error on the whole attribute: expected `SearchResult`, found `Result<_, _>`. (Should be rejected
// like any other non-Result, or at least the error should point at `err`.) Expected to FAIL to compile.
struct SearchResult { hits: u32 }
#[telem::span(err)]
fn f() -> SearchResult { SearchResult { hits: 1 } }
fn main() { assert_eq!(f().hits, 1); }

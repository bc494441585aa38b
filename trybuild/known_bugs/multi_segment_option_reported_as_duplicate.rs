// KNOWN MACRO BUG (not run by tests/ui.rs; belongs in ../fail/ once the error is good).
// Options that are paths with several segments all get the key "" in attr::parse, so the second one is
// reported as `duplicate option ``` instead of `unknown option `err::x``; the first is printed with token
// spacing (`foo :: bar`). Expected to FAIL to compile.
#[telem::span(foo::bar, err::x)]
fn f() {}

fn main() {}

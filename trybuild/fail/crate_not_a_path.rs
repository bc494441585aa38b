#[telem::span(crate = 3)]
fn f() {}
#[telem::span(crate = "not a path!")]
fn g() {}
fn main() {}

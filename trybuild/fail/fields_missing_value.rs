#[telem::span(fields(n = ))]
fn f() {}
fn main() {}

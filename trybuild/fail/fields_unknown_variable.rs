#[telem::span(fields(n = missing_var))]
fn f() {}
fn main() {}

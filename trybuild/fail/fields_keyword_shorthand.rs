#[telem::span(fields(type))]
fn f() {}
fn main() {}

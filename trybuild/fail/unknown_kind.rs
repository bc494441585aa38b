#[telem::span(kind = sideways)]
fn f() {}

#[telem::span(kind = "client")]
fn g() {}

fn main() {}

#[telem::span(kind, fields = 3, skip)]
fn f() {}

fn main() {}

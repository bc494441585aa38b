#[telem::span(fields(missing))]
fn f() {}

fn main() {}

#[telem::span(name = parse)]
fn f() {}

fn main() {}

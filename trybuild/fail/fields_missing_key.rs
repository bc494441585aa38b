#[telem::span(fields(= 3))]
fn f() {}

fn main() {}

#[telem::span(name = "")]
fn f() {}

fn main() {}

#[telem::span(nmae = "typo")]
fn f() {}

fn main() {}

#[telem::span(err)]
fn f() {}

fn main() {}

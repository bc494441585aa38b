#[telem::span(fields(http.method))]
fn f() {}

fn main() {}

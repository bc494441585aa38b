// Options that are paths with several segments are unknown options (each reported, none a duplicate).
#[telem::span(foo::bar, err::x, ::ret)]
fn f() {}

fn main() {}

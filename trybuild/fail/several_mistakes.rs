// Every mistake in one attribute is reported, not only the first.
#[telem::span(name = 3, kind = sideways, bogus, args = all, skip(nope), err, fields(a b))]
fn f(a: u32) -> u32 {
    a
}

fn main() {}

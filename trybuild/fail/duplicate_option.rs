#[telem::span(kind = client, args, kind = server)]
fn f(x: u32) -> u32 {
    x
}

#[telem::span(ret, ret, name = "a", name = "b")]
fn g() {}

fn main() {}

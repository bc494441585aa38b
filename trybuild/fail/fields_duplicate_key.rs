#[telem::span(fields(n, n = 2))]
fn f(n: u32) -> u32 {
    n
}

fn main() {}

#[telem::span]
struct S {
    x: u32,
}

fn main() {}

#[derive(Debug)]
struct S;

impl S {
    #[telem::span(args, skip(self))]
    fn f(&self, x: u8) -> u8 {
        x
    }
}

fn main() {}

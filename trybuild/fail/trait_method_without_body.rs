trait T {
    #[telem::span]
    fn f(&self) -> u32;
}

fn main() {}

struct S;

#[telem::span]
impl S {
    fn f(&self) {}
}

#[telem::span]
enum E {
    A,
}

#[telem::span]
mod m {}

fn main() {
    let _ = (S, E::A);
}

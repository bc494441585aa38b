// An `async fn` returning a type with `impl Trait` inside: the expansion declares the type with `_` in
// place of each `impl Trait`, so a mismatch is reported on the offending expression.
use std::fmt::Display;

#[telem::span]
async fn boxed(flag: bool) -> Box<impl Display> {
    if flag {
        return 5;
    }
    Box::new(6)
}

#[telem::span]
fn boxed_sync() -> Vec<impl Display> {
    7
}

fn main() {
    let _ = boxed(true);
    let _ = boxed_sync();
}

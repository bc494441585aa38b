use std::panic::Location;

#[track_caller]
#[telem::span]
fn plain() -> &'static Location<'static> {
    Location::caller()
}

#[track_caller]
#[telem::span(ret)]
fn with_ret() -> &'static Location<'static> {
    Location::caller()
}

fn main() {
    let (a, b) = (plain(), with_ret());
    assert_eq!(a.line(), b.line(), "plain: {a}, with_ret: {b}");
}

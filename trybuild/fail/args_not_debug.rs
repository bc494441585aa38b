struct NotDebug;

#[telem::span(args)]
fn f(x: NotDebug) {
    let _ = x;
}

fn main() {}

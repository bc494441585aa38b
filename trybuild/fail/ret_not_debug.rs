struct NotDebug;

#[telem::span(ret)]
fn f() -> NotDebug {
    NotDebug
}

fn main() {}

#[derive(Debug)]
struct NotDisplay;

#[telem::span(err)]
fn f() -> Result<u32, NotDisplay> {
    Err(NotDisplay)
}

fn main() {}

#[telem::span(err = true)]
fn f() -> Result<(), String> {
    Ok(())
}

fn main() {}

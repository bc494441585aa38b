// Not a function; a const fn; a `Result` with `#[track_caller]`.
#[telem::counted]
struct S;

#[telem::counted]
const fn c() -> u8 {
    1
}

#[telem::counted]
#[track_caller]
fn located() -> Result<(), String> {
    Ok(())
}

fn main() {}

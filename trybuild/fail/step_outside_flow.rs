// `#[step]` on a statement of a plain function: no flow reads it. The compiler rejects an attribute
// macro on a statement itself (E0658); telem's own message says what is missing.
fn plain() -> u32 {
    #[telem::step]
    let n = 1;
    n
}

fn main() {
    plain();
}

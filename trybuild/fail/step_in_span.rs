// `#[step]` in a `#[span]` function: steps belong to flows; the error suggests `#[flow]`.
#[telem::span]
fn charge(amount: u32) -> u32 {
    #[step]
    let fee = amount / 10;
    #[telem::step("total")]
    fee + amount
}

fn main() {
    charge(10);
}

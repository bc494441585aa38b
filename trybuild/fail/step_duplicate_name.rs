// Step names are unique within a flow: the second use of a name is the error.
#[telem::flow]
fn flow(xs: &[u32]) -> u32 {
    #[step("sum")]
    let a: u32 = xs.iter().sum();
    #[step("max")]
    let b = xs.iter().max().copied().unwrap_or(0);
    #[step(name = "sum")]
    let c = a + b;
    c
}

fn main() {
    flow(&[1]);
}

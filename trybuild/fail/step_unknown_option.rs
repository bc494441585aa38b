// Steps take a name and fields only; every mistake is reported, each on its own token.
#[telem::flow]
fn flow() {
    #[step(nmae = "typo")]
    let _a = 1;
    #[step(name = 5, err)]
    let _b = 2;
    #[step("")]
    let _c = 3;
    #[step(fields(k = 1, k = 2))]
    let _d = 4;
    #[step = "x"]
    let _e = 5;
}

fn main() {
    flow();
}

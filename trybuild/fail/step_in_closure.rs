// A closure or async block inside a flow is code of its own: a `#[step]` there is no step of the flow.
#[telem::flow]
async fn flow() -> u32 {
    let f = || {
        #[step]
        let x = 1;
        x
    };
    let g = async {
        #[step]
        let y = 2;
        y
    };
    f() + g.await
}

fn main() {
    drop(flow());
}

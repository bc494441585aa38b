// A flow returning a future: the code before its async block runs at the call, before the flow's
// span is current, so a step there would be a root of its own. Steps go inside the async block.
use std::future::Future;

#[telem::flow]
fn load(key: &'static str) -> impl Future<Output = usize> {
    #[step]
    let key = key.trim();
    async move {
        #[step]
        let n = key.len();
        n
    }
}

fn main() {
    drop(load("a"));
}

use std::future::Future;

#[telem::span(err)]
async fn a() -> u32 {
    1
}

#[telem::span(err)]
fn b() -> impl Future<Output = Option<u32>> {
    async { None }
}

fn main() {}

#[path = "../support/mod.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;

#[telem::span(err)]
fn f(flag: bool) -> Pin<Box<dyn Future<Output = Result<u8, String>> + Send>> {
    if flag {
        return Box::pin(async { Err("early".to_owned()) });
    }
    Box::pin(async { Err("late".to_owned()) })
}

fn main() {
    let spans = support::collect(|| {
        let _ = support::block_on(f(true));
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, telem::Status::Error("early".into()), "the early return's error is not recorded");
}

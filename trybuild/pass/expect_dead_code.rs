// `#[expect(dead_code)]` on an instrumented function nobody calls is fulfilled, for every expansion
// shape: the lint reaches the user's function (`deny(warnings)` turns an unfulfilled expectation into
// an error).
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

#[expect(dead_code)]
#[telem::span]
fn unused() {}

#[expect(dead_code)]
#[telem::span(err, ret)]
fn unused_result() -> Result<u8, String> {
    Ok(1)
}

#[expect(dead_code)]
#[telem::span(ret)]
async fn unused_async() -> u8 {
    1
}

#[expect(dead_code)]
#[telem::span]
fn unused_future() -> impl Future<Output = u8> {
    async { 1 }
}

#[expect(dead_code)]
#[telem::span]
fn unused_boxed() -> Pin<Box<dyn Future<Output = u8> + Send>> {
    Box::pin(async { 1 })
}

#[expect(dead_code)]
#[track_caller]
#[telem::span]
fn unused_track_caller() {}

struct S;

impl S {
    #[expect(dead_code)]
    #[telem::span]
    fn unused_method(&self) -> u8 {
        1
    }
}

fn main() {
    let _ = S;
}

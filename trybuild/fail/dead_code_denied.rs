// An instrumented function nobody calls is dead code like any other: `deny(dead_code)` must see it, for
// every expansion shape (the rewritten body keeps the user's braces, so the lint is not taken for the
// macro's own code and silenced).
#![deny(dead_code)]

use std::future::Future;
use std::pin::Pin;

#[telem::span]
fn unused() {}

#[telem::span(err, ret)]
fn unused_result() -> Result<u8, String> {
    Ok(1)
}

#[telem::span]
async fn unused_async() -> u8 {
    1
}

#[telem::span]
fn unused_future() -> impl Future<Output = u8> {
    async { 1 }
}

#[telem::span]
fn unused_boxed() -> Pin<Box<dyn Future<Output = u8> + Send>> {
    Box::pin(async { 1 })
}

#[track_caller]
#[telem::span]
fn unused_track_caller() {}

fn main() {}

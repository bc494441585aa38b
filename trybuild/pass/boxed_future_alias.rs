// A body ending in `Box::pin(async …)` behind a type alias of the boxed future (futures' `BoxFuture`):
// the span covers the future, not the call that built it, whatever the return type is spelled like.
#[path = "../support/mod.rs"]
mod support;
use support::{block_on, named, yield_once};

use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

#[telem::span]
fn child() -> u8 {
    1
}

struct Store {
    n: usize,
}

impl Store {
    #[telem::span(ret)]
    fn get(&self) -> BoxFuture<'_, usize> {
        Box::pin(async move {
            yield_once().await;
            self.n + usize::from(child())
        })
    }

    #[telem::span(err)]
    fn check(&self, limit: usize) -> LocalBoxFuture<'_, Result<usize, String>> {
        Box::pin(async move {
            yield_once().await;
            child();
            if self.n > limit {
                return Err(format!("{} > {limit}", self.n));
            }
            Ok(self.n)
        })
    }

    // An early return bypasses the tail: the whole returned future is wrapped.
    #[telem::span(ret)]
    fn early(&self, flag: bool) -> BoxFuture<'_, usize> {
        if flag {
            return Box::pin(async { 0 });
        }
        Box::pin(async move {
            yield_once().await;
            self.n + usize::from(child())
        })
    }
}

fn require_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let store = Store { n: 2 };
    assert_eq!(block_on(require_send(store.get())), 3);
    assert_eq!(block_on(store.check(5)), Ok(2));
    assert_eq!(block_on(store.early(true)), 0);

    let spans = support::collect(|| {
        assert_eq!(block_on(store.get()), 3);
        assert_eq!(block_on(store.check(1)), Err("2 > 1".to_owned()));
        assert_eq!(block_on(store.early(false)), 3);
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    // Each span ends when its future completes, after the child created past the await point...
    assert_eq!(names, ["child", "get", "child", "check", "child", "early"], "{spans:#?}");
    // ...and is that child's parent: it is current while the future is polled.
    for pair in spans.chunks(2) {
        assert_eq!(pair[0].parent_id, Some(pair[1].span_id), "{spans:#?}");
    }
    assert_eq!(named(&spans, "get").attribute("return"), Some(&telem::Value::from("3".to_owned())));
    assert_eq!(named(&spans, "check").status, telem::Status::Error("2 > 1".into()));
    assert_eq!(named(&spans, "early").attribute("return"), Some(&telem::Value::from("3".to_owned())));
}

// Functions returning `Pin<Box<dyn Future>>` (the `async_trait` shape).
#[path = "../support/mod.rs"]
mod support;
use support::block_on;

use std::future::Future;
use std::pin::Pin;

struct Store {
    items: Vec<String>,
}

impl Store {
    #[telem::span(args)]
    fn len<'a>(&'a self, extra: usize) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
        Box::pin(async move { self.items.len() + extra })
    }

    #[telem::span(err, ret)]
    fn get<'a>(&'a self, i: usize) -> Pin<Box<dyn Future<Output = Result<&'a str, String>> + Send + 'a>> {
        Box::pin(async move {
            let item = self.items.get(i).ok_or_else(|| format!("no item {i}"))?;
            Ok(item.as_str())
        })
    }

    #[telem::span]
    fn push<'a>(&'a mut self, s: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        let owned = s.to_owned();
        std::boxed::Box::pin(async move {
            self.items.push(owned);
        })
    }
}

// Not ending in `Box::pin(...)`: the whole returned future is wrapped. The branches box different
// futures, each coerced to the declared `Pin<Box<dyn Future>>`.
#[telem::span(ret)]
fn either(flag: bool) -> Pin<Box<dyn Future<Output = u8> + Send + 'static>> {
    if flag {
        Box::pin(async { 1 })
    } else {
        Box::pin(std::future::ready(2))
    }
}

struct Cell(u8);

impl Cell {
    // Elided lifetime in the trait object, and a fully qualified `Box::pin` path.
    #[telem::span(err)]
    fn read(&self) -> Pin<Box<dyn Future<Output = Result<u8, String>> + Send + '_>> {
        ::std::boxed::Box::pin(async move { Ok(self.0) })
    }
}

// The `async_trait` expansion: a trait method returning a boxed future.
trait Service {
    fn call<'a>(&'a self, req: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'a>>;
}

struct Doubler;

impl Service for Doubler {
    #[telem::span(kind = server, args, err)]
    fn call<'a>(&'a self, req: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'a>> {
        Box::pin(async move { req.checked_mul(2).ok_or_else(|| "overflow".to_owned()) })
    }
}

fn require_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let mut store = Store { items: vec!["a".to_owned()] };
    assert_eq!(block_on(store.len(1)), 2);
    assert_eq!(block_on(store.get(0)), Ok("a"));
    assert_eq!(block_on(store.get(5)), Err("no item 5".to_owned()));
    block_on(store.push("b"));
    assert_eq!(block_on(require_send(store.len(0))), 2);
    assert_eq!(block_on(either(true)), 1);
    assert_eq!(block_on(either(false)), 2);
    assert_eq!(block_on(Cell(4).read()), Ok(4));
    let svc: &dyn Service = &Doubler;
    assert_eq!(block_on(svc.call(21)), Ok(42));
    assert_eq!(block_on(svc.call(u32::MAX)), Err("overflow".to_owned()));

    let spans = support::collect(|| {
        assert_eq!(block_on(Doubler.call(1)), Ok(2));
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].kind, telem::SpanKind::Server);
    assert_eq!(spans[0].attribute("req"), Some(&telem::Value::from("1".to_owned())));
}

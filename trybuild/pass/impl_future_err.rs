// Functions returning `impl Future`: the span covers the returned future.
#[path = "../support/mod.rs"]
mod support;
use support::block_on;

use std::future::Future;

#[telem::span(err)]
fn fetch(id: u32) -> impl Future<Output = Result<String, String>> {
    let prefix = "item";
    async move {
        if id == 0 {
            return Err("id 0".to_owned());
        }
        Ok(format!("{prefix}-{id}"))
    }
}

#[telem::span(args, err, ret)]
fn fetch_send(id: u32) -> impl Future<Output = Result<u32, std::fmt::Error>> + Send + 'static {
    std::future::ready(Ok(id * 2))
}

struct Client {
    base: String,
}

impl Client {
    #[telem::span(kind = client, err)]
    fn get<'a>(&'a self, path: &'a str) -> impl Future<Output = std::io::Result<String>> + 'a {
        async move { Ok(format!("{}{path}", self.base)) }
    }
}

#[telem::span(ret)]
fn plain() -> impl Future<Output = u8> {
    async { 3 }
}

fn require_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    assert_eq!(block_on(fetch(1)), Ok("item-1".to_owned()));
    assert_eq!(block_on(fetch(0)), Err("id 0".to_owned()));
    assert_eq!(block_on(require_send(fetch_send(4))), Ok(8));
    let c = Client { base: "http://x".to_owned() };
    assert_eq!(block_on(c.get("/y")).unwrap(), "http://x/y");
    assert_eq!(block_on(plain()), 3);

    let spans = support::collect(|| {
        let future = fetch(0);
        assert_eq!(block_on(future), Err("id 0".to_owned()));
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, telem::Status::Error("id 0".into()));
}

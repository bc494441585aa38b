// Flows returning a future: `impl Future` ending in `async move { … }`, and the `async_trait` shape
// `Pin<Box<dyn Future + Send>>` ending in `Box::pin(async move { … })`. Steps sit in the async block,
// where the flow's span is current, and their `.await`s keep the step current.
#[path = "../support/mod.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;

#[telem::flow(err)]
fn load(key: &'static str) -> impl Future<Output = Result<usize, String>> {
    let key = key.trim();
    async move {
        #[step("fetch")]
        let n = {
            support::yield_once().await;
            key.len()
        };
        #[step("check")]
        (n > 0).then_some(()).ok_or_else(|| "empty key".to_owned())?;
        Ok(n)
    }
}

trait Store {
    fn get<'a>(&'a self, key: &'a str) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>>;
}

struct Kv;

impl Store for Kv {
    #[telem::flow]
    fn get<'a>(&'a self, key: &'a str) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
        Box::pin(async move {
            #[step("lookup")]
            support::yield_once().await;
            key.len()
        })
    }
}

fn main() {
    let spans = support::collect(|| {
        assert_eq!(support::block_on(load(" ab ")), Ok(2));
        assert_eq!(support::block_on(load(" ")), Err("empty key".to_owned()));
        assert_eq!(support::block_on(Kv.get("abc")), 3);
    });
    let loads: Vec<_> = spans.iter().filter(|s| s.name == "load").collect();
    assert_eq!(loads.len(), 2);
    for name in ["fetch", "check"] {
        let steps: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(steps.len(), 2, "{name}");
        assert_eq!(steps[0].parent_id, Some(loads[0].span_id), "{name}");
    }
    let check = spans.iter().filter(|s| s.name == "check").nth(1).unwrap();
    assert_eq!(check.status, telem::Status::Error("empty key".into()));
    let lookup = support::named(&spans, "lookup");
    assert_eq!(lookup.parent_id, Some(support::named(&spans, "get").span_id));
}

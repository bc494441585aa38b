// An async flow: steps that `.await` (also inside `?` and loops), a closure and an async block inside
// a step keeping their own `?`/`.await`, and the flow's future still `Send`.
#[path = "../support/mod.rs"]
mod support;

async fn fetch(n: u32) -> Result<u32, String> {
    support::yield_once().await;
    if n == 0 { Err("nothing to fetch".to_owned()) } else { Ok(n) }
}

#[telem::flow(name = "sync_all", err)]
async fn sync_all(ids: Vec<u32>) -> Result<u32, String> {
    #[step("first")]
    let first = fetch(ids[0]).await?;
    let mut sum = first;
    for id in &ids[1..] {
        #[step("rest")]
        sum += fetch(*id).await?;
    }
    #[step]
    let doubled = {
        let double = |n: u32| -> Result<u32, String> { Ok(n.checked_mul(2).ok_or("overflow")?) };
        let later = async move { support::yield_once().await; double(sum) };
        later.await?
    };
    Ok(doubled)
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let spans = support::collect(|| {
        assert_eq!(support::block_on(assert_send(sync_all(vec![1, 2, 3]))), Ok(12));
        assert_eq!(support::block_on(sync_all(vec![1, 0])), Err("nothing to fetch".to_owned()));
    });
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "sync_all").collect();
    assert_eq!(roots.len(), 2);
    let rest: Vec<_> = spans.iter().filter(|s| s.name == "rest").collect();
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[2].status, telem::Status::Error("nothing to fetch".into()));
    assert!(spans.iter().any(|s| s.name == "sync_all/step[2]" && s.parent_id == Some(roots[0].span_id)));
}

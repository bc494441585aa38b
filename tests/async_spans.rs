//! Async spans on a multi-threaded executor: current only while polled, so children created after an
//! `.await` on another worker still point at their parent.

mod common;
use common::*;
use std::future::Future;
use std::pin::Pin;
use telem::Status;

#[telem::span]
async fn leaf(i: u32) -> u32 {
    tokio::task::yield_now().await;
    i
}

#[telem::span]
async fn handler() -> u32 {
    let mut total = 0;
    for i in 0..20 {
        // Yielding lets another worker pick the task up: the next `leaf` may start on another thread.
        tokio::task::yield_now().await;
        total += leaf(i).await;
    }
    // An `async fn` span starts at its first poll: bind the spawned future to this context.
    let spawned = tokio::spawn(telem::with_current_context(leaf(100))).await.unwrap();
    total + spawned
}

#[telem::span(err)]
fn fetch(fail: bool) -> impl Future<Output = Result<u32, String>> {
    async move {
        tokio::task::yield_now().await;
        if fail {
            Err("unreachable host".to_string())
        } else {
            Ok(7)
        }
    }
}

trait Store {
    fn get<'a>(&'a self, key: &'a str) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>>;
}

struct Kv;

impl Store for Kv {
    // The shape `async_trait` generates.
    #[telem::span(ret)]
    fn get<'a>(&'a self, key: &'a str) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            key.len()
        })
    }
}

#[test]
fn async_children_point_at_their_parent_across_worker_threads() {
    let (telem, memory) = start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let totals: Vec<u32> = rt.block_on(async {
        let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(handler())).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(totals.iter().all(|&t| t == 190 + 100));
    assert!(telem.shutdown());
    let spans = memory.spans();
    let handlers = all(&spans, "handler");
    assert_eq!(handlers.len(), 8);
    for h in &handlers {
        assert_root(h);
        let leaves: Vec<_> = spans.iter().filter(|s| s.parent_id == Some(h.span_id)).collect();
        assert_eq!(leaves.len(), 21, "20 awaited leaves and one spawned, all children of their handler");
        for l in leaves {
            assert_eq!(l.name, "leaf");
            assert_child(l, h);
        }
    }
}

/// A future that is pending once, so its task can be moved between threads by hand.
struct Hop(bool);
impl Future for Hop {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

#[telem::span]
async fn hopping() -> u32 {
    Hop(false).await;
    leaf(1).await
}

#[test]
fn a_child_started_after_an_await_on_another_thread_points_at_its_parent() {
    let (telem, memory) = start();
    let task = Box::pin(hopping());
    let poll = |task: &mut Pin<Box<dyn Future<Output = u32> + Send>>| {
        task.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    };
    let mut task: Pin<Box<dyn Future<Output = u32> + Send>> = task;
    let first = std::thread::scope(|s| s.spawn(|| poll(&mut task).is_pending()).join().unwrap());
    assert!(first);
    let second = std::thread::scope(|s| {
        s.spawn(|| loop {
            if let std::task::Poll::Ready(v) = poll(&mut task) {
                break v;
            }
        })
        .join()
        .unwrap()
    });
    assert_eq!(second, 1);
    assert!(!telem::current_span().is_recording(), "the polls left nothing current here");
    assert!(telem.shutdown());
    let spans = memory.spans();
    let (parent, child) = (one(&spans, "hopping"), one(&spans, "leaf"));
    assert_child(child, parent);
    assert_root(parent);
    assert_eq!(parent.thread, child.thread, "both ended on the second thread");
}

#[test]
fn impl_future_and_boxed_future_spans_cover_the_future() {
    let (telem, memory) = start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let pending = fetch(true);
        // Nothing ran yet: the span is open but covers the future until it completes.
        assert_eq!(pending.await, Err("unreachable host".to_string()));
        assert_eq!(fetch(false).await, Ok(7));
        assert_eq!(Kv.get("four").await, 4);
    });
    assert!(telem.shutdown());
    let spans = memory.spans();
    let fetches = all(&spans, "fetch");
    assert_eq!(fetches[0].status, Status::Error("unreachable host".into()));
    assert_eq!(fetches[1].status, Status::Unset);
    assert_eq!(text(one(&spans, "get"), "return"), "4");
}

#[test]
fn a_future_dropped_before_completion_still_ends_its_span() {
    let (telem, memory) = start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(10), sleepy()).await;
        assert!(timed_out.is_err());
    });
    assert!(telem.shutdown());
    assert_eq!(one(&memory.spans(), "sleepy").status, Status::Unset);
}

#[telem::span]
async fn sleepy() {
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

#[telem::span]
async fn panics_after_await() {
    tokio::task::yield_now().await;
    panic!("async boom");
}

#[test]
fn a_panic_in_an_async_span_marks_it_failed() {
    let (telem, memory) = start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let joined = rt.block_on(async { tokio::spawn(panics_after_await()).await });
    assert!(joined.unwrap_err().is_panic());
    assert!(telem.shutdown());
    let spans = memory.spans();
    match &one(&spans, "panics_after_await").status {
        Status::Error(m) => assert!(m.contains("async boom"), "{m}"),
        other => panic!("{other:?}"),
    }
}

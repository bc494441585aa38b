//! Context across threads and tasks: `Context::wrap`/`in_scope`, `telem::spawn`, `std::thread::scope`,
//! rayon, `FutureExt::with_context`; explicit parents and links on manual spans, and links in the store.

mod common;

use common::{assert_child, assert_root, one};
use rayon::prelude::*;
use telem::{Context, FutureExt};

#[telem::span]
fn work(i: u64) -> u64 {
    i * 2
}

#[test]
fn context_moves_to_scoped_threads_spawned_threads_and_wrapped_closures() {
    let (telem, memory) = common::start();
    telem::in_span("request", |_| {
        let ctx = Context::current().unwrap();
        std::thread::scope(|s| {
            for i in 0..4 {
                let ctx = &ctx;
                s.spawn(move || ctx.in_scope(|| work(i)));
            }
        });
        telem::spawn(|| telem::in_span("spawned", |_| ())).join().unwrap();
        let job = ctx.clone().wrap(|| telem::in_span("wrapped", |_| 7));
        assert_eq!(std::thread::spawn(job).join().unwrap(), 7);
    });
    // Outside any span, `telem::spawn` carries nothing: a new trace.
    telem::spawn(|| telem::in_span("alone", |_| ())).join().unwrap();
    assert!(telem.shutdown());
    let spans = memory.spans();
    let request = one(&spans, "request");
    let works: Vec<_> = spans.iter().filter(|s| s.name == "work").collect();
    assert_eq!(works.len(), 4);
    works.iter().for_each(|w| assert_child(w, request));
    assert!(works.iter().map(|w| w.thread.id).all(|t| t != request.thread.id), "ran on other threads");
    assert_child(one(&spans, "spawned"), request);
    assert_child(one(&spans, "wrapped"), request);
    let alone = one(&spans, "alone");
    assert_root(alone);
    assert_ne!(alone.trace_id, request.trace_id);
}

#[test]
fn rayon_workers_continue_the_trace() {
    let (telem, memory) = common::start();
    let total: u64 = telem::in_span("batch", |_| {
        let ctx = Context::current().unwrap();
        (0..200u64).into_par_iter().map(|i| ctx.in_scope(|| work(i))).sum()
    });
    assert_eq!(total, (0..200u64).map(|i| i * 2).sum::<u64>());
    // A whole closure handed to the pool.
    let ctx = telem::in_span("install", |_| Context::current().unwrap());
    rayon::scope(|s| s.spawn(|_| ctx.clone().wrap(|| telem::in_span("in.pool", |_| ()))()));
    assert!(telem.shutdown());
    let spans = memory.spans();
    let batch = one(&spans, "batch");
    let works: Vec<_> = spans.iter().filter(|s| s.name == "work").collect();
    assert_eq!(works.len(), 200);
    works.iter().for_each(|w| assert_child(w, batch));
    assert_child(one(&spans, "in.pool"), one(&spans, "install"));
    let stats = telem::stats();
    let m = stats.exporter("memory").unwrap();
    assert_eq!(m.recorded, m.exported + m.dropped + m.in_flight);
}

#[telem::span]
async fn fetch() -> u32 {
    tokio::task::yield_now().await;
    1
}

#[test]
fn futures_take_a_context_with_with_context() {
    let (telem, memory) = common::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ctx = telem::in_span("handler", |_| Context::current().unwrap());
    let remote = Context::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    rt.block_on(async {
        assert_eq!(tokio::spawn(fetch().with_context(ctx.clone())).await.unwrap(), 1);
        assert_eq!(tokio::spawn(fetch().with_context(&remote)).await.unwrap(), 1);
        // `None`: a new trace, whatever is current.
        let _g = ctx.attach();
        assert_eq!(fetch().with_context(None::<Context>).await, 1);
    });
    assert!(telem.shutdown());
    let spans = memory.spans();
    let handler = one(&spans, "handler");
    let fetches: Vec<_> = spans.iter().filter(|s| s.name == "fetch").collect();
    assert_eq!(fetches.len(), 3);
    assert!(fetches.iter().any(|f| f.parent_id == Some(handler.span_id) && f.trace_id == handler.trace_id));
    assert!(fetches.iter().any(|f| f.parent_id == Some(remote.span_id) && f.trace_id == remote.trace_id));
    assert!(fetches.iter().any(|f| f.parent_id.is_none() && f.trace_id != handler.trace_id));
}

#[test]
fn explicit_parents_and_links_reach_exporters_and_the_store() {
    let dir = std::env::temp_dir().join(format!("telem-test-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let memory = telem::exporters::Memory::default();
    let telem =
        telem::Builder::new().exporter("console", false).store_dir(&dir).with_exporter("memory", memory.clone()).init();
    let a = telem::in_span("request.a", |_| Context::current().unwrap());
    let b = telem::in_span("request.b", |_| Context::current().unwrap());
    telem::in_span("unrelated", |_| {
        let batch =
            telem::Span::builder("batch").parent(None::<Context>).link(&a, [("reason", "queued")]).link(&b, [("n", 2)]);
        batch.start().end();
        telem::Span::builder("under.a").parent(&a).start().end();
    });
    assert!(telem.shutdown());
    let spans = memory.spans();
    let batch = one(&spans, "batch");
    assert_root(batch);
    assert_ne!(batch.trace_id, one(&spans, "unrelated").trace_id, "parent(None) starts a trace");
    assert_eq!(batch.links.len(), 2);
    assert_eq!((batch.links[0].trace_id, batch.links[0].span_id), (a.trace_id, a.span_id));
    assert_eq!(batch.links[1].span_id, b.span_id);
    assert_child(one(&spans, "under.a"), one(&spans, "request.a"));

    let stored = telem::store::read_dir(&dir).unwrap();
    let stored_batch = stored.iter().find(|s| &*s.name == "batch").unwrap();
    assert_eq!(stored_batch.links, batch.links, "the store keeps the links");
    assert_eq!((stored_batch.links[0].span_id, stored_batch.links[0].trace_id), (a.span_id, a.trace_id));
    assert_eq!(stored_batch.links[0].attributes, [("reason".into(), telem::Value::from("queued"))]);
    assert_eq!(stored_batch.links[1].attributes, [("n".into(), telem::Value::from(2))]);
    let plain = stored.iter().find(|s| &*s.name == "unrelated").unwrap();
    assert!(plain.links.is_empty(), "no links on a span without links");
    let _ = std::fs::remove_dir_all(&dir);
}

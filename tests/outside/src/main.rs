//! Uses telem the way a crate outside its workspace does: one path dependency on `telem`, nothing else
//! of telem's, `#[telem::span]` on every shape of function, tokio's multi-threaded runtime.
//!
//! `tests/outside_crate.rs` in the telem workspace builds and runs this binary with `TELEM_STORE_DIR`
//! pointing at a fresh directory and `TELEM_CONSOLE=0`, then checks the span trees in the store file
//! against the call structure below (span names are the function names unless `name = …` says
//! otherwise). stdout carries one JSON object per line: a `poll_threads` line per `awaiting_parent`
//! (informational) and a final `stats` line with the store exporter's counters.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

fn main() {
    let _telem = telem::init();
    let _ = counted_outside(1);

    let sync_total = sync_root();
    let cross_total = cross_thread();

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_time().build().expect("tokio runtime");
    let async_total = rt.block_on(async_root());
    // The workers exit here, before telem shuts down: what they recorded must still be exported.
    drop(rt);

    drop(_telem);
    let stats = telem::stats();
    let metrics = telem::metrics::render();
    let counted = r#"function_calls_total{function="counted_outside",module="telem_outside",result="ok"} 1"#;
    assert_eq!(metrics.contains(counted), cfg!(feature = "telem-enabled"), "{metrics}");
    if cfg!(not(feature = "telem-enabled")) {
        assert_eq!(stats, telem::Stats::default(), "compiled out: nothing recorded");
        println!("{{\"compiled_out\":{{\"totals\":[{sync_total},{cross_total},{async_total}]}}}}");
        return;
    }
    let store = stats.exporter("store").expect("the store exporter is running");
    println!(
        "{{\"stats\":{{\"recorded\":{},\"exported\":{},\"dropped\":{},\"in_flight\":{},\"totals\":[{sync_total},{cross_total},{async_total}]}}}}",
        store.recorded, store.exported, store.dropped, store.in_flight
    );
    if store.dropped != 0 || store.in_flight != 0 || store.exported != store.recorded {
        eprintln!("not every span reached the store: {stats:?}");
        std::process::exit(1);
    }
}

/// `#[counted]` from outside the workspace: its expansion names only `::telem` paths.
#[telem::counted]
fn counted_outside(n: u32) -> Result<u32, String> {
    Ok(n)
}

// ---------------------------------------------------------------------------------------------------
// Synchronous code: one trace rooted at `sync_root`.

#[telem::span]
fn sync_root() -> u64 {
    let mut total = sync_mid(3);
    total += generic_sum(&[1u8, 2, 3]);

    let mut counter = Counter::new(1);
    counter.bump(2);
    total += counter.get();

    let square = Square { side: 2 };
    total += square.area();
    total += square.describe().len() as u64;

    let mut stack = Stack::default();
    stack.push(String::from("a"));
    total += stack.items.len() as u64;

    total += u64::from(parse_num("x1").unwrap_or(0));
    total += manual_span();
    total += telem::in_span("closure", |span| {
        span.set_attribute("via", "in_span");
        in_closure()
    });
    total += after_manual();
    total
}

#[telem::span]
fn sync_mid(n: u64) -> u64 {
    (0..2).map(|i| sync_leaf(n + i)).sum()
}

#[telem::span(fields(x = x))]
fn sync_leaf(x: u64) -> u64 {
    if x == 0 {
        return 0;
    }
    x * 2
}

/// Generic, with a where-clause.
#[telem::span(args)]
fn generic_sum<T>(items: &[T]) -> u64
where
    T: Copy + Into<u64> + std::fmt::Debug,
{
    items.iter().map(|&x| x.into()).sum()
}

struct Counter {
    n: u64,
}

impl Counter {
    #[telem::span(name = "Counter::new")]
    fn new(n: u64) -> Self {
        Counter { n }
    }

    #[telem::span]
    fn bump(&mut self, by: u64) {
        self.n += by;
    }

    #[telem::span]
    fn get(&self) -> u64 {
        self.n
    }

    #[telem::span]
    async fn add_later(&mut self, by: u64) -> u64 {
        tokio::task::yield_now().await;
        self.n += by;
        self.n
    }
}

trait Shape {
    fn area(&self) -> u64;
    fn sides(&self) -> u32;

    /// A default trait method calling an impl method.
    #[telem::span]
    fn describe(&self) -> String {
        format!("{} sides", self.sides())
    }
}

struct Square {
    side: u64,
}

impl Shape for Square {
    #[telem::span]
    fn area(&self) -> u64 {
        self.side * self.side
    }

    #[telem::span]
    fn sides(&self) -> u32 {
        4
    }
}

struct Stack<T> {
    items: Vec<T>,
}

impl<T> Default for Stack<T> {
    fn default() -> Self {
        Stack { items: Vec::new() }
    }
}

impl<T> Stack<T>
where
    T: Clone + std::fmt::Debug,
{
    /// A method of a generic impl with a where-clause.
    #[telem::span(args)]
    fn push(&mut self, item: T) {
        self.items.push(item);
    }
}

#[telem::span(err)]
fn parse_num(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

/// A manual span, entered so that the `#[span]` call inside is its child.
fn manual_span() -> u64 {
    let mut span = telem::Span::start("manual");
    span.set_attribute("step", 1u64);
    let value = {
        let _entered = span.enter();
        in_manual()
    };
    span.end();
    value
}

#[telem::span]
fn in_manual() -> u64 {
    1
}

#[telem::span]
fn in_closure() -> u64 {
    1
}

/// Called after the manual span ended: a child of `sync_root` again.
#[telem::span]
fn after_manual() -> u64 {
    1
}

// ---------------------------------------------------------------------------------------------------
// One future polled on three named threads: deterministic, no runtime involved.

/// Pending on its first poll, ready on the next.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[telem::span]
async fn cross_thread_parent() -> u64 {
    let before = before_hop();
    YieldOnce(false).await;
    let after = after_hop().await;
    YieldOnce(false).await;
    before + after
}

/// Runs during the first poll, on `poll-a`.
#[telem::span]
fn before_hop() -> u64 {
    1
}

/// Starts after an await and ends during the second poll, on `poll-b`; its parent ends on `poll-c`.
#[telem::span]
async fn after_hop() -> u64 {
    1
}

/// Called on `poll-a` after the poll returned: nothing is current there any more, so a root.
#[telem::span]
fn stray_after_poll() {}

/// Polls `cross_thread_parent` once on each of three named threads: pending, pending, ready.
fn cross_thread() -> u64 {
    type Boxed = Pin<Box<dyn Future<Output = u64> + Send>>;
    fn poll_on(thread: &str, mut future: Boxed, after: fn()) -> (Boxed, Poll<u64>) {
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || {
                let poll = future.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                after();
                (future, poll)
            })
            .expect("spawn a polling thread")
            .join()
            .expect("polling thread")
    }
    let future: Boxed = Box::pin(cross_thread_parent());
    let (future, first) = poll_on("poll-a", future, stray_after_poll);
    assert!(first.is_pending());
    let (future, second) = poll_on("poll-b", future, || {});
    assert!(second.is_pending());
    match poll_on("poll-c", future, || {}).1 {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("cross_thread_parent is pending after its third poll"),
    }
}

// ---------------------------------------------------------------------------------------------------
// tokio, 4 workers: one trace rooted at `async_root`, which `block_on` polls on the main thread.

#[telem::span]
async fn async_root() -> u64 {
    let boxed = tokio::spawn(boxed_job(1));
    let implf = tokio::spawn(impl_job(2));
    // An `async fn` span starts at its first poll: bound to the context current here, it is a child of
    // this span; spawned bare, it is first polled on a worker where nothing is current, so a root.
    let spawned_fn = tokio::spawn(telem::with_current_context(spawned_async_fn(3)));
    let spawned_bare = tokio::spawn(spawned_async_fn(4));
    let hops: Vec<_> = (0..4).map(|id| tokio::spawn(hop(id))).collect();

    let mut total = Fetcher.fetch(5).await;
    total += Fetcher.fetch_boxed(&6).await;
    total += gather(vec![1u32, 2, 3]).await;
    let mut counter = Counter { n: 0 };
    total += counter.add_later(4).await;

    total += boxed.await.expect("boxed_job");
    total += implf.await.expect("impl_job");
    total += spawned_fn.await.expect("spawned_async_fn");
    total += spawned_bare.await.expect("spawned_async_fn");
    for hop in hops {
        total += hop.await.expect("hop");
    }
    total
}

/// The `async_trait` shape: the span starts at the call, so it is a child of the spawning span.
#[telem::span(fields(id = id))]
fn boxed_job(id: u32) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        child_after(id).await
    })
}

/// `impl Future`: the span starts at the call too.
#[telem::span(fields(id = id))]
fn impl_job(id: u32) -> impl Future<Output = u64> + Send {
    async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        child_after(id).await
    }
}

#[telem::span(fields(id = id))]
async fn child_after(id: u32) -> u64 {
    tokio::task::yield_now().await;
    u64::from(id)
}

/// An `async fn` handed to `tokio::spawn` by its caller.
#[telem::span(fields(id = id))]
async fn spawned_async_fn(id: u32) -> u64 {
    tokio::task::yield_now().await;
    u64::from(id)
}

/// An instrumented wrapper whose future polls `awaiting_parent`, so that one starts inside it.
#[telem::span(fields(id = id))]
fn hop(id: u32) -> impl Future<Output = u64> + Send {
    awaiting_parent(id)
}

/// Awaits many times (so its polls land on various workers), spawns children, and calls an async and
/// a sync child after the awaits.
#[telem::span(fields(id = id))]
async fn awaiting_parent(id: u32) -> u64 {
    let mut threads = vec![std::thread::current().id()];
    let mut total = 0;
    for round in 0..4u32 {
        tokio::task::yield_now().await;
        threads.push(std::thread::current().id());
        tokio::time::sleep(Duration::from_millis(1)).await;
        threads.push(std::thread::current().id());
        total += tokio::spawn(spawned_leaf(id, round)).await.expect("spawned_leaf");
        threads.push(std::thread::current().id());
    }
    total += after_awaits(id).await;
    total += sync_in_async(id);
    threads.sort_by_key(|t| format!("{t:?}"));
    threads.dedup();
    println!("{{\"awaiting_parent\":{id},\"poll_threads\":{}}}", threads.len());
    total
}

#[telem::span(fields(id = id, round = round))]
fn spawned_leaf(id: u32, round: u32) -> impl Future<Output = u64> + Send {
    async move {
        tokio::task::yield_now().await;
        u64::from(id + round)
    }
}

#[telem::span(fields(id = id))]
async fn after_awaits(id: u32) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    u64::from(id)
}

#[telem::span(fields(id = id))]
fn sync_in_async(id: u32) -> u64 {
    u64::from(id)
}

/// A generic `async fn` with a where-clause.
#[telem::span]
async fn gather<I>(items: I) -> u64
where
    I: IntoIterator<Item = u32> + Send,
    I::IntoIter: Send,
{
    let mut total = 0;
    for item in items {
        tokio::task::yield_now().await;
        total += u64::from(item);
    }
    total
}

trait Fetch {
    async fn fetch(&self, key: u32) -> u64;

    /// What `#[async_trait]` turns an `async fn` into.
    fn fetch_boxed<'a>(&'a self, key: &'a u32) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>>;
}

struct Fetcher;

impl Fetch for Fetcher {
    /// An `async fn` trait method.
    #[telem::span(fields(key = key))]
    async fn fetch(&self, key: u32) -> u64 {
        tokio::task::yield_now().await;
        u64::from(key)
    }

    #[telem::span(fields(key = *key))]
    fn fetch_boxed<'a>(&'a self, key: &'a u32) -> Pin<Box<dyn Future<Output = u64> + Send + 'a>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.fetch(*key).await
        })
    }
}

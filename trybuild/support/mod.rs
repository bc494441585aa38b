//! Shared by the pass programs through `#[path = "../support/mod.rs"] mod support;`.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Polls `future` to completion on this thread with a waker that does nothing. Enough for futures that
/// never wait on anything (the pass programs' futures are all immediately ready or self-waking).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Pending on its first poll, ready on the next: an await point for the pass programs' futures.
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Returns once, after being pending once.
pub fn yield_once() -> YieldOnce {
    YieldOnce(false)
}

/// One exported span, owned.
#[derive(Debug, Clone)]
pub struct Finished {
    pub span_id: telem::SpanId,
    pub parent_id: Option<telem::SpanId>,
    pub name: String,
    pub kind: telem::SpanKind,
    pub status: telem::Status,
    pub attributes: Vec<(String, telem::Value)>,
}

impl Finished {
    pub fn attribute(&self, key: &str) -> Option<&telem::Value> {
        self.attributes.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The span named `name` (exactly one must have ended).
pub fn named<'a>(spans: &'a [Finished], name: &str) -> &'a Finished {
    match spans.iter().filter(|s| s.name == name).collect::<Vec<_>>()[..] {
        [one] => one,
        ref other => panic!("{} spans named {name:?} in {spans:#?}", other.len()),
    }
}

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Finished>>>);

impl telem::Exporter for Collect {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        let mut out = self.0.lock().unwrap();
        for s in batch.spans() {
            out.push(Finished {
                span_id: s.span_id(),
                parent_id: s.parent_id(),
                name: s.name().to_owned(),
                kind: s.kind(),
                status: s.status(),
                attributes: s.attributes().map(|(k, v)| (k.to_owned(), v.clone())).collect(),
            });
        }
        Ok(())
    }
}

/// Runs `f` with the runtime on (only the collecting exporter) and returns the spans it recorded, in
/// the order they ended. Call it at most once per program.
pub fn collect(f: impl FnOnce()) -> Vec<Finished> {
    let c = Collect::default();
    let t = telem::Builder::new()
        .exporter("store", false)
        .exporter("console", false)
        .exporter("prometheus", false)
        .with_exporter("collect", c.clone())
        .init();
    f();
    assert!(t.shutdown(), "spans were lost");
    let spans = c.0.lock().unwrap().clone();
    spans
}

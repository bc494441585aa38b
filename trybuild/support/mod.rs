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

/// One exported span, owned.
#[derive(Debug, Clone)]
pub struct Finished {
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

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Finished>>>);

impl telem::Exporter for Collect {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        let mut out = self.0.lock().unwrap();
        for s in batch.spans() {
            out.push(Finished {
                name: s.name().to_owned(),
                kind: s.kind(),
                status: s.status(),
                attributes: s.attributes().iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
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
        .with_exporter("collect", c.clone())
        .init();
    f();
    assert!(t.shutdown(), "spans were lost");
    let spans = c.0.lock().unwrap().clone();
    spans
}

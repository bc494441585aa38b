//! The keep-errors tail rule: a trace the head sampler dropped is still exported whole when one of its
//! spans ends in error.
//!
//! With the rule on, unsampled spans are recorded like the others, marked `UNSAMPLED` (and the first
//! of its trace in this process `LOCAL_ROOT`). The collector moves them out of each run before the run
//! is batched and holds them here, per trace, until the trace is decided:
//!
//! - a span ending in error keeps the trace: what is held goes out, and so does every later span of it;
//! - a clean local root closes the trace, and the next pass that drains every ring completely (the
//!   export interval, `flush()`, shutdown) discards it, counted as sampled out: spans that ended before
//!   the root on other threads have reached their rings by then, so an error among them still wins.
//!
//! Memory is bounded: at most `max_traces` undecided traces and `KEEP_ERRORS_SPANS_PER_TRACE` times as
//! many spans. Past that the oldest trace goes: a closed one as sampled out, an open one counted as
//! dropped for every exporter (it might have failed later). Decisions are remembered for as many
//! traces again, so late spans follow their trace's fate.

use crate::collect::local::ThreadInfo;
use crate::collect::ring::Run;
use crate::config::KEEP_ERRORS_SPANS_PER_TRACE;
use crate::trace::record::Record;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

/// What the rule did, for `telem::stats()`.
#[derive(Default)]
pub(crate) struct TailCounts {
    /// Unsampled spans discarded: their trace had no error.
    pub sampled_out: AtomicU64,
    /// Unsampled spans lost to the rule's memory bound before their trace was decided.
    pub dropped: AtomicU64,
}

/// Spans of one undecided trace.
struct Held {
    spans: Vec<(ThreadInfo, Record)>,
    /// The pass that saw the trace's clean local root, if one did.
    closed_in: Option<u64>,
}

pub(crate) struct Tail {
    max_traces: usize,
    max_spans: usize,
    held: HashMap<u128, Held>,
    /// Held traces, oldest first (ids of traces decided since are skipped when met).
    order: VecDeque<u128>,
    held_spans: usize,
    /// Decided traces: true = exported.
    decided: HashMap<u128, bool>,
    decided_order: VecDeque<u128>,
    /// Spans released for export by this pass, in arrival order.
    released: Vec<(ThreadInfo, Record)>,
    pass: u64,
}

impl Tail {
    pub fn new(max_traces: usize) -> Tail {
        let max_traces = max_traces.max(1);
        Tail {
            max_traces,
            max_spans: max_traces.saturating_mul(KEEP_ERRORS_SPANS_PER_TRACE),
            held: HashMap::new(),
            order: VecDeque::new(),
            held_spans: 0,
            decided: HashMap::new(),
            decided_order: VecDeque::new(),
            released: Vec::new(),
            pass: 0,
        }
    }

    /// Starts a collector pass.
    pub fn begin_pass(&mut self) {
        self.pass += 1;
    }

    /// Takes the unsampled records out of `run`, keeping those of traces already kept for export.
    pub fn sift(&mut self, run: &mut Run, thread: ThreadInfo, counts: &TailCounts) {
        run.sift(Record::is_unsampled, |record| self.arrive(thread, record, counts));
    }

    fn arrive(&mut self, thread: ThreadInfo, record: Record, counts: &TailCounts) {
        let trace = record.trace_id;
        match self.decided.get(&trace) {
            Some(true) => return self.released.push((thread, record)),
            Some(false) => return count(&counts.sampled_out, 1),
            None => {}
        }
        if record.is_error() {
            if let Some(held) = self.held.remove(&trace) {
                self.held_spans -= held.spans.len();
                self.released.extend(held.spans);
            }
            self.released.push((thread, record));
            return self.decide(trace, true);
        }
        if !self.held.contains_key(&trace) {
            while self.held.len() >= self.max_traces {
                self.evict_oldest(counts);
            }
            self.held.insert(trace, Held { spans: Vec::new(), closed_in: None });
            self.order.push_back(trace);
        }
        while self.held_spans >= self.max_spans && self.held.len() > 1 {
            self.evict_oldest(counts);
        }
        let pass = self.pass;
        let Some(held) = self.held.get_mut(&trace) else { return count(&counts.dropped, 1) };
        if held.spans.len() >= self.max_spans {
            // One trace alone fills the bound: its newest spans are the ones lost.
            return count(&counts.dropped, 1);
        }
        if record.is_local_root() {
            held.closed_in = Some(pass);
        }
        held.spans.push((thread, record));
        self.held_spans += 1;
    }

    fn evict_oldest(&mut self, counts: &TailCounts) {
        while let Some(trace) = self.order.pop_front() {
            if let Some(held) = self.held.remove(&trace) {
                self.held_spans -= held.spans.len();
                let n = held.spans.len() as u64;
                if held.closed_in.is_some() {
                    count(&counts.sampled_out, n);
                    self.decide(trace, false);
                } else {
                    count(&counts.dropped, n);
                }
                return;
            }
        }
    }

    fn decide(&mut self, trace: u128, keep: bool) {
        if self.decided.insert(trace, keep).is_none() {
            self.decided_order.push_back(trace);
            if self.decided_order.len() > self.max_traces {
                if let Some(old) = self.decided_order.pop_front() {
                    self.decided.remove(&old);
                }
            }
        }
    }

    /// Ends a pass; one that drained every ring completely discards the traces closed before it began.
    pub fn end_pass(&mut self, drained_everything: bool, counts: &TailCounts) {
        if !drained_everything {
            return;
        }
        let pass = self.pass;
        let closed: Vec<u128> =
            self.held.iter().filter(|(_, h)| h.closed_in.is_some_and(|p| p < pass)).map(|(&t, _)| t).collect();
        for trace in closed {
            if let Some(held) = self.held.remove(&trace) {
                self.held_spans -= held.spans.len();
                count(&counts.sampled_out, held.spans.len() as u64);
                self.decide(trace, false);
            }
        }
        self.order.retain(|t| self.held.contains_key(t));
    }

    /// At shutdown: no error came for what is still held, so it is sampled out.
    pub fn finish(&mut self, counts: &TailCounts) {
        let n: usize = self.held.values().map(|h| h.spans.len()).sum();
        count(&counts.sampled_out, n as u64);
        self.held.clear();
        self.order.clear();
        self.held_spans = 0;
    }

    /// The spans released for export since the last call, as runs of consecutive spans per thread.
    pub fn released(&mut self, mut out: impl FnMut(ThreadInfo, Run)) {
        let mut spans = std::mem::take(&mut self.released).into_iter().peekable();
        while let Some((thread, first)) = spans.next() {
            let mut records = vec![first];
            while let Some((_, next)) = spans.next_if(|(t, _)| *t == thread) {
                records.push(next);
            }
            if let Some(run) = Run::owned(records) {
                out(thread, run);
            }
        }
    }
}

fn count(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::AcqRel);
}

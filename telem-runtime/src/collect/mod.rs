//! How finished spans travel from the thread that recorded them to the exporters: per-thread state and
//! lanes (`local`), the segmented ring each thread writes (`ring`), and the collector thread that hands
//! segments to exporter queues (`collector`), where the keep-errors rule holds unsampled traces
//! until they are decided (`tail`).

pub(crate) mod collector;
pub(crate) mod local;
pub(crate) mod ring;
pub(crate) mod tail;

/// The two kinds of record a thread writes, each into a ring of its own with its own counters: spans,
/// and events (span events and log records). Used as an index into per-signal arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Spans = 0,
    Events = 1,
}

impl Signal {
    pub const ALL: [Signal; 2] = [Signal::Spans, Signal::Events];
}

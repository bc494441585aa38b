//! How finished spans travel from the thread that recorded them to the exporters: per-thread state and
//! lanes (`local`), the segmented ring each thread writes (`ring`), and the collector thread that hands
//! segments to exporter queues (`collector`), where the keep-errors rule holds unsampled traces
//! until they are decided (`tail`).

pub(crate) mod collector;
pub(crate) mod local;
pub(crate) mod ring;
pub(crate) mod tail;

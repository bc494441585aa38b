//! The local store: each process session appends its spans and events to a file of its own,
//! `<dir>/<UTC start, YYYYMMDDTHHMMSSZ>-<pid>.telem`, in the binary **store format v4** below; read them
//! back with [`read_file`], [`read_dir`] (spans, each with its events), [`read_file_all`],
//! [`read_dir_all`] (spans and events: [`Contents`]) or a [`Reader`], which also read the binary formats v3 and
//! v2 and the JSON-lines files (`.jsonl`, format v1) that earlier versions wrote. One file per session means
//! no locking between processes and no interleaving.
//!
//! ```no_run
//! for span in telem::store::read_dir(".telem").expect("a readable store") {
//!     println!("{} {} {} ns", span.trace_id, span.name, span.duration_ns());
//!     for event in &span.events {
//!         println!("  {} {} {:?}", event.level, event.name, event.fields);
//!     }
//! }
//! let all = telem::store::read_dir_all(".telem").expect("a readable store");
//! for event in all.events.iter().filter(|e| e.span_id.is_none()) {
//!     println!("{} {} {:?}", event.level, event.name, event.message);
//! }
//! ```
//!
//! # Why binary
//!
//! The exporter writes what a [`Batch`](crate::Batch) already holds — runs of records as they came out
//! of the ring segments — instead of formatting each span as JSON: ids are copied, the call-site pointer
//! becomes an index into a table written once per file, times stay ticks (a few bytes each as deltas) and
//! become Unix nanoseconds only when the file is read, from the clock anchor and tick rate stored with
//! every block. Fewer bytes is what makes it fast: copying the 64-byte records (56 bytes written) ran at
//! ~18 M spans/s, the page cache taking half the time; this layout (~14 bytes for a plain span) at ~35 M.
//! `telem-bench/README.md` has the figures.
//!
//! # Format v4
//!
//! Every integer is little-endian; `str` is a `u32` byte length followed by that many bytes of UTF-8.
//!
//! **File header** (16 bytes): the magic `TELEMSTO` (8 bytes), `version: u16` = 4, `reserved: u16` = 0,
//! `header_len: u32` = 16 (a reader skips to this offset, so a later version may extend the header).
//!
//! **Blocks** follow, back to back; each exported batch is one `write` of the exporter, holding its
//! blocks (a session block when needed, an events block when it has events, a spans block when it has
//! spans, in that order):
//!
//! | offset | field | |
//! |---:|---|---|
//! | 0 | `kind: u16` | 1 session, 2 spans, 3 events; other values are kinds a later writer added: a reader skips them whole |
//! | 2 | `reserved: u16` | 0 |
//! | 4 | `len: u32` | payload bytes (at most 2^30) |
//! | 8 | `count: u32` | records in the block (spans or events block), else 0 |
//! | 12 | `crc: u32` | CRC-32 (IEEE, the zlib/PNG polynomial) of bytes 0..12 of this header and of the payload |
//! | 16 | payload | `len` bytes |
//!
//! A file whose last block is cut short (a process killed mid-write) or does not match its checksum is read
//! up to that block; the reader reports the block's byte offset. A failed write is cut back by the exporter
//! itself, so only a crash can leave a torn block, and only at the end.
//!
//! **Session block** (kind 1): `pid: u32`, `reserved: u32`, `service: str`, `session_id: u128`, then the
//! session's resource as *attributes* (below) whose keys are all written out (`key_ref` 0). Written once
//! per session, before its first spans or events block (a process that calls `telem::new_session()`
//! writes one per session into the same file); every span and event read after it has that service and
//! resource ([`StoredSpan::resource`]).
//!
//! **Spans block** (kind 2), in this order:
//!
//! 1. Clock: `anchor_tick: u64`, `anchor_unix_ns: u64`, `ns_per_tick: f64` (IEEE bits). A tick `t`
//!    is `anchor_unix_ns + (t − anchor_tick) × ns_per_tick` Unix ns; a duration `(end − start) ×
//!    ns_per_tick` (the same arithmetic [`SpanRef`](crate::SpanRef) does, so readers see the times the
//!    other exporters saw). The rate is re-measured for each batch, so each block carries its own.
//! 2. Counts: `new_sites: u32`, `new_threads: u32`, `runs: u32`, `new_keys: u32`.
//! 3. `runs` runs, each the spans one thread ended, in the order it ended them: `thread_id: u64`,
//!    `records: u32`, `reserved: u32`, then `records` records, each written relative to the previous record
//!    of its run (for the first: a trace id of 0 and a start of 0):
//!
//!    | field | bytes | |
//!    |---|---:|---|
//!    | `flags: u16` | 2 | bits 0–1 status (0 unset, 1 ok, 2 error, its message in the extra, 3 error `panicked`); bit 2 sampled out (kept by the keep-errors rule); bit 3 local root; bit 4 has an extra; bit 5 has a parent; bits 6–7 trace mode (below); bits 8–11 record kind, 0 = span (the only kind: events have a block kind of their own); bits 12–15 zero |
//!    | `lens: u8` | 1 | bits 0–2: bytes of `start` − 1; bits 3–5: bytes of `duration` − 1; bits 6–7: bytes of `site` − 1 |
//!    | `site` | 1–4 | index into the file's call-site table |
//!    | `span_id: u64` | 8 | never 0 |
//!    | trace id | 0, 8 or 16 | mode 0: the whole `u128`; 1: the previous record's, nothing written; 2: the previous record's high 64 bits, low 64 bits = this `span_id` (a root this thread started: telem's trace ids are the thread's prefix above the root's id), nothing written; 3: the previous record's high 64 bits, the low 64 follow |
//!    | `parent_id: u64` | 0 or 8 | when bit 5 is set; else the span is a trace root |
//!    | `start` | 1–8 | zigzag (0, −1, 1, −2 … → 0, 1, 2, 3 …) of `start − previous start`, ticks, wrapping |
//!    | `duration` | 1–8 | zigzag of `end − start`, ticks, wrapping |
//!
//!    Numbers of 1–8 bytes are little-endian, their byte count in `lens`. A plain span is 14 bytes where
//!    the ring's record is 64.
//!
//! 4. `new_keys` attribute keys, each a `str`, appended to the file's key table (the first one of the file
//!    is entry 0). `'static` keys — nearly all: `fields(…)`, `attribute("key", …)`, event field names — are
//!    written once per file, in the block of their first use.
//! 5. `new_sites` call sites, appended to the file's table (the first one of the file is index 0; spans
//!    and events share it): `name: str`, `module: str`, `file: str`, `line: u32`, `kind: u8` (0 internal,
//!    1 server, 2 client, 3 producer, 4 consumer), `level: u8` (1 trace, 2 debug, 3 info, 4 warn, 5 error,
//!    6 critical; spans' sites say 3), then the call site's own attributes (a `#[step]`'s `step.index` and
//!    `step.name`), as *attributes* below, then an event's field keys: `keys: u32` and per key a
//!    `key_ref` (below). Each call site is written once per file, in the block of its first record.
//! 6. `new_threads` threads: `id: u64`, `name: str` (empty if unnamed), once per file.
//! 7. Extras, one for each record with bit 4 set, in record order: `present: u8` (bit 0 run-time name, bit 1
//!    error message, bit 2 caller-measured times), then if present `name: str`, `message: str`, `start_unix_ns:
//!    u64, end_unix_ns: u64` (these replace the ticks: spans given to `telem::record`), then *attributes*, then
//!    `links: u32` and per link `trace_id: u128`, `span_id: u64`, `sampled: u8`, *attributes*.
//!
//! **Events block** (kind 3, new in v3): the events of one batch, laid out as a spans block — clock,
//! counts, runs, then new keys, call sites and threads, then extras — with runs and records of their own:
//!
//! - A run is the events one thread recorded, in order: `thread_id: u64`, `records: u32`, `reserved: u32`,
//!   `first_index: u64` (the session index of its first event; each next event's is one more, so an
//!   event's index costs nothing), then `records` events, each relative to the previous event of the run
//!   (the first: a time of 0) and to the last event of the run that was inside a span (the ids; at first,
//!   0):
//!
//!   | field | bytes | |
//!   |---|---:|---|
//!   | `head` | 3 | 24 bits: bits 0–1 field 0's type, bits 2–3 field 1's (0 none, 1 `i64`, 2 `f64`, 3 `bool`); bit 4 sampled (the span's trace flag); bit 5 has an extra; bits 6–8 span mode (below); bits 9–11 bytes of `time` − 1; bits 12–13 bytes of `site` − 1; bits 14–16 and 17–19 bytes of field 0 and field 1 − 1 (0 for a field that is not there); bits 20–23 zero |
//!   | `site` | 1–4 | index into the file's call-site table: name, level, module, file, line, field keys |
//!   | trace id, span id | 0, 8, 16 or 24 | mode 0: outside any span, nothing written; 1: the same trace and span as the last span event, nothing written; 2: that event's trace, the `span_id: u64` follows; 3: that event's high 64 trace bits, the low 64 bits and the `span_id` follow; 4: `trace_id: u128` and `span_id: u64` follow |
//!   | `time` | 1–8 | zigzag of `time − previous time`, ticks, wrapping |
//!   | field 0, field 1 | 0–8 each | the leading scalar fields the record kept inline, by their type: `i64` zigzagged, `f64` its IEEE bits byte-swapped (round numbers then take 1–3 bytes), `bool` 0 or 1; keyed by the call site's first and second key |
//!
//!   An event with two small scalar fields outside a span takes about 9 bytes; inside a span also (its
//!   ids are written once per span per run).
//! - Extras, one for each event with bit 5 set, in event order: `present: u8` (bit 0 message; the other
//!   bits zero), then `message: str` if present, then the fields that were not inline, as *attributes*.
//!   An event's fields are its inline fields, then these, in the call site's order.
//!
//! *Attributes* are `count: u32`, then per attribute the key — `key_ref: u32`, 0 followed by the key as a
//! `str`, or `k` > 0 for entry `k − 1` of the file's key table — and a value: `tag: u8` then 0 bool (`u8`
//! 0 or 1), 1 `i64`, 2 `u64`, 3 `f64` (IEEE bits), 4 `str`.
//!
//! A span's attributes are its call site's, then its own, in the order they were set. A span's events
//! are the events whose trace and span ids are its own: [`read_file`] and the other `read_*` functions
//! join them over everything they read ([`StoredSpan::events`]); a [`Reader`] streams and joins nothing.
//!
//! # Versions
//!
//! The header's version changes when a reader of the previous version would misread a file (a field that
//! changes meaning, a new record kind in a spans block); a new block kind that older readers may skip does not
//! change it. Version 1 was JSON lines (one object per span; see `export/json.rs`, which the console's JSON
//! mode still writes); its files stay readable. Version 3 is version 4 without the resource: its session
//! block ends after `service`; its files stay readable. Version 2 is version 3 without events: its call-site
//! definitions have no `level` and no keys, and it has no events blocks (a kind 3 block in a v2 file is
//! skipped as unknown); its files stay readable.

mod decode;
mod event;
mod exporter;
mod format;
mod read;
mod span;
mod v1;
mod write;

pub use event::StoredEvent;
pub use exporter::Store;
pub use read::{
    read_dir, read_dir_all, read_file, read_file_all, Contents, Items, PartialRead, Problem, ReadError, Reader, Stored,
};
pub use span::StoredSpan;

inventory::submit! { super::ExporterRegistration::new("store", Store::build) }

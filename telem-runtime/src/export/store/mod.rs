//! The local store: each process session appends its spans to a file of its own,
//! `<dir>/<UTC start, YYYYMMDDTHHMMSSZ>-<pid>.telem`, in the binary **store format v2** below; read them
//! back with [`read_file`], [`read_dir`] or a [`Reader`], which also read the JSON-lines files (`.jsonl`,
//! format v1) that earlier versions wrote. One file per session means no locking between processes and
//! no interleaving.
//!
//! ```no_run
//! for span in telem::store::read_dir(".telem").expect("a readable store") {
//!     println!("{} {} {} ns", span.trace_id, span.name, span.duration_ns());
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
//! # Format v2
//!
//! Every integer is little-endian; `str` is a `u32` byte length followed by that many bytes of UTF-8.
//!
//! **File header** (16 bytes): the magic `TELEMSTO` (8 bytes), `version: u16` = 2, `reserved: u16` = 0,
//! `header_len: u32` = 16 (a reader skips to this offset, so a later version may extend the header).
//!
//! **Blocks** follow, back to back, each one `write` of the exporter (one per exported batch):
//!
//! | offset | field | |
//! |---:|---|---|
//! | 0 | `kind: u16` | 1 session, 2 spans; other values are kinds a later writer added: a reader skips them whole |
//! | 2 | `reserved: u16` | 0 |
//! | 4 | `len: u32` | payload bytes (at most 2^30) |
//! | 8 | `count: u32` | records in the block (spans block), else 0 |
//! | 12 | `crc: u32` | CRC-32 (IEEE, the zlib/PNG polynomial) of bytes 0..12 of this header and of the payload |
//! | 16 | payload | `len` bytes |
//!
//! A file whose last block is cut short (a process killed mid-write) or does not match its checksum is read
//! up to that block; the reader reports the block's byte offset. A failed write is cut back by the exporter
//! itself, so only a crash can leave a torn block, and only at the end.
//!
//! **Session block** (kind 1): `pid: u32`, `reserved: u32`, `service: str`. Written before the first
//! spans block, and again if the service name changes; every span read after it has that service.
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
//!    | `flags: u16` | 2 | bits 0–1 status (0 unset, 1 ok, 2 error, its message in the extra, 3 error `panicked`); bit 2 sampled out (kept by the keep-errors rule); bit 3 local root; bit 4 has an extra; bit 5 has a parent; bits 6–7 trace mode (below); bits 8–11 record kind, 0 = span (other kinds, such as events, come with a new version); bits 12–15 zero |
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
//!    is entry 0). `'static` keys — nearly all: `fields(…)` and `attribute("key", …)` — are written once per
//!    file, in the block of their first use.
//! 5. `new_sites` call sites, appended to the file's table (the first one of the file is index 0): `name:
//!    str`, `module: str`, `file: str`, `line: u32`, `kind: u8` (0 internal, 1 server, 2 client, 3
//!    producer, 4 consumer), then the call site's own attributes (a `#[step]`'s `step.index` and
//!    `step.name`), as *attributes* below. Each call site is written once per file, in the block of its first
//!    span.
//! 6. `new_threads` threads: `id: u64`, `name: str` (empty if unnamed), once per file.
//! 7. Extras, one for each record with bit 4 set, in record order: `present: u8` (bit 0 run-time name, bit 1
//!    error message, bit 2 caller-measured times), then if present `name: str`, `message: str`, `start_unix_ns:
//!    u64, end_unix_ns: u64` (these replace the ticks: spans given to `telem::record`), then *attributes*, then
//!    `links: u32` and per link `trace_id: u128`, `span_id: u64`, `sampled: u8`, *attributes*.
//!
//! *Attributes* are `count: u32`, then per attribute the key — `key_ref: u32`, 0 followed by the key as a
//! `str`, or `k` > 0 for entry `k − 1` of the file's key table — and a value: `tag: u8` then 0 bool (`u8`
//! 0 or 1), 1 `i64`, 2 `u64`, 3 `f64` (IEEE bits), 4 `str`.
//!
//! A span's attributes are its call site's, then its own, in the order they were set.
//!
//! # Versions
//!
//! The header's version changes when a reader of the previous version would misread a file (a field that
//! changes meaning, a new record kind in a spans block); a new block kind that older readers may skip does not
//! change it. Version 1 was JSON lines (one object per span; see `export/json.rs`, which the console's JSON
//! mode still writes); its files stay readable. Issue 10's events will take a block kind or record kind of
//! their own, with a version bump.

mod decode;
mod exporter;
mod format;
mod read;
mod span;
mod v1;
mod write;

pub use exporter::Store;
pub use read::{read_dir, read_file, PartialRead, Problem, ReadError, Reader};
pub use span::StoredSpan;

inventory::submit! { super::ExporterRegistration::new("store", Store::build) }

//! The numbers of store format v2, shared by the writer and the reader (the layout they describe is in
//! the module doc of [`super`]). Everything is little-endian.

/// First eight bytes of a v2 file.
pub(crate) const MAGIC: [u8; 8] = *b"TELEMSTO";
/// The format version in the file header. Bump it when a field changes meaning or a reader of this
/// version would misread a new file; a new block kind that old readers may skip does not need it.
pub(crate) const VERSION: u16 = 2;
/// Bytes of the file header: magic, version, reserved `u16`, header length `u32`.
pub(crate) const FILE_HEADER_LEN: usize = 16;
/// Bytes of a block header: kind `u16`, reserved `u16`, payload length `u32`, item count `u32`, CRC `u32`.
pub(crate) const BLOCK_HEADER_LEN: usize = 16;
/// Largest payload a block may have: a default batch of 4096 spans is a few hundred KiB, the writer
/// refuses a batch that would exceed it, and the reader treats a larger length as damage.
pub(crate) const MAX_PAYLOAD: u32 = 1 << 30;

/// Block kind: the session (pid, service name), written before the first spans block and again
/// whenever the service name changes.
pub(crate) const BLOCK_SESSION: u16 = 1;
/// Block kind: a batch of spans with the tables they need. Issue 10's events get a kind of their own.
pub(crate) const BLOCK_SPANS: u16 = 2;

/// A run header: thread id `u64`, record count `u32`, reserved `u32`.
pub(crate) const RUN_HEADER_LEN: usize = 16;
/// The most bytes one record takes: flags, lengths, site, span id, trace id, parent, start, duration.
pub(crate) const RECORD_MAX_LEN: usize = 2 + 1 + 4 + 8 + 16 + 8 + 8 + 8;
/// The fewest: flags, lengths, a one-byte site, span id, no trace, no parent, one-byte start and duration.
pub(crate) const RECORD_MIN_LEN: usize = 2 + 1 + 1 + 8 + 1 + 1;

/// Record flags (`u16`), bits 0–1: the status code (0 unset, 1 ok, 2 error with its message in the
/// extra, 3 error "panicked"), as in the in-memory record.
pub(crate) const FLAG_STATUS: u16 = 0b11;
/// Record flag: sampled out, kept for the keep-errors rule (informational).
pub(crate) const FLAG_UNSAMPLED: u16 = 0b100;
/// Record flag: the first span of its trace in the process (informational).
pub(crate) const FLAG_LOCAL_ROOT: u16 = 0b1000;
/// Record flag: an extra (run-time name, attributes, message, links, caller-measured times) follows in
/// the block's extras section, in record order.
pub(crate) const FLAG_EXTRA: u16 = 0b1_0000;
/// Record flag: a parent id follows (else the span is a trace root).
pub(crate) const FLAG_PARENT: u16 = 0b10_0000;
/// Record flags, bits 6–7: how the trace id is written, relative to the previous record of the run.
pub(crate) const TRACE_SHIFT: u16 = 6;
/// Trace mode: all 16 bytes follow.
pub(crate) const TRACE_FULL: u16 = 0;
/// Trace mode: the previous record's trace; nothing follows.
pub(crate) const TRACE_SAME: u16 = 1;
/// Trace mode: the previous record's high 64 bits (the thread's trace prefix), low 64 bits = the span's
/// own id (a root started on this thread); nothing follows.
pub(crate) const TRACE_ROOT: u16 = 2;
/// Trace mode: the previous record's high 64 bits; the low 64 bits follow.
pub(crate) const TRACE_LOW: u16 = 3;
/// Record flags, bits 8–11: the record kind. 0 is a span; every other value is refused by this version's
/// reader (issue 10 adds events with a version bump).
pub(crate) const KIND_SHIFT: u16 = 8;
/// Flags this version defines; a record with any other bit set is refused.
pub(crate) const FLAGS_KNOWN: u16 = 0xff | (0xf << KIND_SHIFT);

/// Extra, presence byte: a run-time name follows.
pub(crate) const EXTRA_NAME: u8 = 1;
/// Extra, presence byte: an error message follows.
pub(crate) const EXTRA_MESSAGE: u8 = 2;
/// Extra, presence byte: caller-measured start and end (Unix ns) follow; they replace the ticks.
pub(crate) const EXTRA_UNIX_TIMES: u8 = 4;

/// Value tags.
pub(crate) const VALUE_BOOL: u8 = 0;
pub(crate) const VALUE_I64: u8 = 1;
pub(crate) const VALUE_U64: u8 = 2;
pub(crate) const VALUE_F64: u8 = 3;
pub(crate) const VALUE_STR: u8 = 4;

/// CRC-32 (IEEE, as in zlib and PNG) of a block: its header's first 12 bytes, then its payload.
pub(crate) fn block_crc(header: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header[..12]);
    h.update(payload);
    h.finalize()
}

/// The kind number of a span kind, and back.
pub(crate) mod kind {
    use crate::SpanKind;

    pub(crate) fn code(kind: SpanKind) -> u8 {
        kind as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<SpanKind> {
        Some(match code {
            0 => SpanKind::Internal,
            1 => SpanKind::Server,
            2 => SpanKind::Client,
            3 => SpanKind::Producer,
            4 => SpanKind::Consumer,
            _ => return None,
        })
    }
}

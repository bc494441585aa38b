//! The numbers of store format v4 (and of v3 and v2, which the reader still reads), shared by the writer and
//! the reader (the layout they describe is in the module doc of [`super`]). Everything is little-endian.

/// First eight bytes of a binary (v2, v3 or v4) file.
pub(crate) const MAGIC: [u8; 8] = *b"TELEMSTO";
/// The format version the writer writes. Bump it when a field changes meaning or a reader of this
/// version would misread a new file; a new block kind that old readers may skip does not need it.
/// v3: call-site definitions carry a level and field keys; events blocks. v4: session blocks carry the
/// session id and the resource.
pub(crate) const VERSION: u16 = 4;
/// The version whose session blocks carry the resource.
pub(crate) const VERSION_4: u16 = 4;
/// Events without the resource, still read.
pub(crate) const VERSION_3: u16 = 3;
/// The binary version before events, still read: its call-site definitions end after the attributes.
pub(crate) const VERSION_2: u16 = 2;
/// Bytes of the file header: magic, version, reserved `u16`, header length `u32`.
pub(crate) const FILE_HEADER_LEN: usize = 16;
/// Bytes of a block header: kind `u16`, reserved `u16`, payload length `u32`, item count `u32`, CRC `u32`.
pub(crate) const BLOCK_HEADER_LEN: usize = 16;
/// Largest payload a block may have: a default batch of 4096 spans is a few hundred KiB, the writer
/// refuses a batch that would exceed it, and the reader treats a larger length as damage.
pub(crate) const MAX_PAYLOAD: u32 = 1 << 30;

/// Block kind: the session (pid, service name, and from v4 the session id and the resource), written
/// before the first spans or events block of each session.
pub(crate) const BLOCK_SESSION: u16 = 1;
/// Block kind: a batch of spans with the tables they need.
pub(crate) const BLOCK_SPANS: u16 = 2;
/// Block kind (v3): a batch's events with the tables they need, written before the batch's spans block.
pub(crate) const BLOCK_EVENTS: u16 = 3;

/// A run header: thread id `u64`, record count `u32`, reserved `u32`.
pub(crate) const RUN_HEADER_LEN: usize = 16;
/// An events run header: thread id `u64`, record count `u32`, reserved `u32`, session index of the run's
/// first event `u64`.
pub(crate) const EVENT_RUN_HEADER_LEN: usize = 24;
/// The most bytes one event record takes: head, site, trace id and span id, time, two inline fields.
pub(crate) const EVENT_MAX_LEN: usize = 3 + 4 + 16 + 8 + 8 + 8 + 8;
/// The fewest: head, a one-byte site, no span, a one-byte time, no inline field.
pub(crate) const EVENT_MIN_LEN: usize = 3 + 1 + 1;

/// Event head (24 bits), bits 0–3: the inline fields' type tags, two bits each (0 none, 1 `i64`,
/// 2 `f64`, 3 `bool`), as in the in-memory record's site word.
pub(crate) const EVENT_TAGS: u32 = 0b1111;
/// Event head: recorded under a sampled span.
pub(crate) const EVENT_HEAD_SAMPLED: u32 = 0b1_0000;
/// Event head: an extra (message, further fields) follows in the block's extras section.
pub(crate) const EVENT_HEAD_EXTRA: u32 = 0b10_0000;
/// Event head, bits 6–8: how the trace and span ids are written (the `EVENT_SPAN_*` modes).
pub(crate) const EVENT_SPAN_SHIFT: u32 = 6;
/// Span mode: outside any span; nothing follows (trace id and span id 0).
pub(crate) const EVENT_SPAN_NONE: u32 = 0;
/// Span mode: the same trace and span as the previous event of the run that had a span.
pub(crate) const EVENT_SPAN_SAME: u32 = 1;
/// Span mode: the previous span event's trace; the span id (8 bytes) follows.
pub(crate) const EVENT_SPAN_ID: u32 = 2;
/// Span mode: the previous span event's high 64 trace bits; the low 64 bits, then the span id follow.
pub(crate) const EVENT_SPAN_LOW: u32 = 3;
/// Span mode: the whole trace id (16 bytes), then the span id follow.
pub(crate) const EVENT_SPAN_FULL: u32 = 4;
/// Event head, bits 9–11: bytes of the time delta − 1.
pub(crate) const EVENT_TIME_SHIFT: u32 = 9;
/// Event head, bits 12–13: bytes of the call-site index − 1.
pub(crate) const EVENT_SITE_SHIFT: u32 = 12;
/// Event head, bits 14–16 and 17–19: bytes of inline field 0 and 1 − 1 (0 when the field is absent).
pub(crate) const EVENT_FIELD_SHIFT: [u32; 2] = [14, 17];
/// Event head bits this version defines; the others (20–23) are zero.
pub(crate) const EVENT_HEAD_KNOWN: u32 = (1 << 20) - 1;

/// Event extra, presence byte: a message follows.
pub(crate) const EVENT_EXTRA_MESSAGE: u8 = 1;

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

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
/// Largest payload a reader accepts: a writer never comes near it (a batch of 4096 spans is a few
/// hundred KiB), and a length read from a damaged header cannot make the reader allocate gigabytes.
pub(crate) const MAX_PAYLOAD: u32 = 1 << 30;

/// Block kind: the session (pid, service name), written before the first spans block and again
/// whenever the service name changes.
pub(crate) const BLOCK_SESSION: u16 = 1;
/// Block kind: a batch of spans with the tables they need. Issue 10's events get a kind of their own.
pub(crate) const BLOCK_SPANS: u16 = 2;

/// A run header: thread id `u64`, record count `u32`, reserved `u32`.
pub(crate) const RUN_HEADER_LEN: usize = 16;
/// A record: trace id `u128`, span id, parent id, start tick, end tick (`u64` each), call-site index
/// `u32`, flags `u32`.
pub(crate) const RECORD_LEN: usize = 56;

/// Record flags, bits 0–1: the status code (0 unset, 1 ok, 2 error with its message in the extra, 3 error
/// "panicked"), as in the in-memory record.
pub(crate) const FLAG_STATUS: u32 = 0b11;
/// Record flag: sampled out, kept for the keep-errors rule (informational).
pub(crate) const FLAG_UNSAMPLED: u32 = 0b100;
/// Record flag: the first span of its trace in the process (informational).
pub(crate) const FLAG_LOCAL_ROOT: u32 = 0b1000;
/// Record flag: an extra (run-time name, attributes, message, links, caller-measured times) follows in
/// the block's extras section, in record order.
pub(crate) const FLAG_EXTRA: u32 = 0b1_0000;
/// Record flags, bits 8–15: the record kind. 0 is a span; every other value is refused by this version's
/// reader (issue 10 adds events with a version bump).
pub(crate) const FLAG_KIND_SHIFT: u32 = 8;
/// Flags this version defines; a record with any other bit set is refused.
pub(crate) const FLAGS_KNOWN: u32 =
    FLAG_STATUS | FLAG_UNSAMPLED | FLAG_LOCAL_ROOT | FLAG_EXTRA | (0xff << FLAG_KIND_SHIFT);

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

//! Trace and span ids, and the per-thread generator that makes them.

use std::fmt;

/// A 128-bit W3C trace id. Zero means "no trace".
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub u128);

/// A 64-bit span id. Zero means "no span"; generated ids are never zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub u64);

impl TraceId {
    /// Parses 32 hex digits (either case). `None` for any other length, a non-hex digit, or all zeros.
    pub fn from_hex(s: &str) -> Option<TraceId> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(s, 16).ok().filter(|&v| v != 0).map(TraceId)
    }
}

impl SpanId {
    /// Parses 16 hex digits (either case). `None` for any other length, a non-hex digit, or all zeros.
    pub fn from_hex(s: &str) -> Option<SpanId> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(s, 16).ok().filter(|&v| v != 0).map(SpanId)
    }
}

/// Lowercase hex, 32 digits.
impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Lowercase hex, 16 digits.
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// One step of wyrand: a 64-bit generator with a one-word state, two multiplies a call, and good
/// enough statistics for ids (it passes BigCrush and PractRand). Not cryptographic, and ids need not be.
#[inline(always)]
pub(crate) fn wyrand(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0xa076_1d64_78bd_642f);
    let t = (*state as u128).wrapping_mul((*state ^ 0xe703_7ed1_a0b4_28db) as u128);
    (t >> 64) as u64 ^ t as u64
}

/// A seed from the OS: std seeds every `RandomState` from the OS's random source once per thread.
#[cold]
pub(crate) fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::clock::now());
    h.finish() | 1
}

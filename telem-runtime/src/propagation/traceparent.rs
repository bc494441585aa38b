//! W3C `traceparent`: version, trace id, parent id, flags.
//!
//! Parsing follows the Trace Context Recommendation (Level 1) and keeps Level 2's `random` flag: two
//! lowercase hex digits of version (`ff` is invalid), 32 of trace id and 16 of parent id (neither all
//! zeros), 2 of flags, `-` between them. Version `00` is exactly those 55 characters; a higher version
//! is read by its first 55 and must then end or go on with `-` (fields a later version may add).
//! Spaces and tabs around the value are optional whitespace and ignored.

use crate::ids::{SpanId, TraceId};
use crate::trace::context::{Context, RANDOM, SAMPLED};
use std::fmt;

/// Why a `traceparent` value was refused: the value, where (0-based character position in it) and
/// what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceparentError {
    /// The value as given.
    pub value: String,
    /// The 0-based position of the first character found wrong (the value's length when it ends
    /// early).
    pub position: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for TraceparentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid traceparent {:?}: {} at character {}", self.value, self.reason, self.position)
    }
}

impl std::error::Error for TraceparentError {}

/// Length of a version-`00` value: `vv-<32>-<16>-ff`.
const LEN: usize = 55;

/// One hex field of the value and the words for what can be wrong with it.
struct Field {
    start: usize,
    len: usize,
    short: &'static str,
    long: &'static str,
    upper: &'static str,
    not_hex: &'static str,
    /// The `-` after it is missing (not for the flags, the last field).
    dash: &'static str,
}

const VERSION: Field = Field {
    start: 0,
    len: 2,
    short: "version shorter than 2 hex digits",
    long: "version longer than 2 hex digits",
    upper: "uppercase hex digit in version (only lowercase is valid)",
    not_hex: "version has a character that is not a hex digit",
    dash: "expected '-' after the version",
};
const TRACE_ID: Field = Field {
    start: 3,
    len: 32,
    short: "trace id shorter than 32 hex digits",
    long: "trace id longer than 32 hex digits",
    upper: "uppercase hex digit in trace id (only lowercase is valid)",
    not_hex: "trace id has a character that is not a hex digit",
    dash: "expected '-' after the trace id",
};
const PARENT_ID: Field = Field {
    start: 36,
    len: 16,
    short: "parent id shorter than 16 hex digits",
    long: "parent id longer than 16 hex digits",
    upper: "uppercase hex digit in parent id (only lowercase is valid)",
    not_hex: "parent id has a character that is not a hex digit",
    dash: "expected '-' after the parent id",
};
const FLAGS: Field = Field {
    start: 53,
    len: 2,
    short: "flags shorter than 2 hex digits",
    long: "flags longer than 2 hex digits",
    upper: "uppercase hex digit in flags (only lowercase is valid)",
    not_hex: "flags have a character that is not a hex digit",
    dash: "",
};

/// The value of a lowercase hex digit.
#[inline(always)]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Optional whitespace (RFC 9110): space or horizontal tab.
#[inline(always)]
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// An error at byte `at` of the trimmed value.
type Fail = (usize, &'static str);

impl Field {
    /// Reads the field's hex digits from `s` (the value without surrounding whitespace) and checks the
    /// `-` after it.
    #[inline(always)]
    fn read(&self, s: &[u8]) -> Result<u128, Fail> {
        let mut v = 0u128;
        for i in self.start..self.start + self.len {
            match s.get(i).copied() {
                Some(b) => match hex_value(b) {
                    Some(d) => v = v << 4 | d as u128,
                    None => return Err((i, self.wrong_digit(b))),
                },
                None => return Err((i, self.short)),
            }
        }
        let end = self.start + self.len;
        if !self.dash.is_empty() {
            match s.get(end).copied() {
                Some(b'-') => {}
                Some(b) if b.is_ascii_hexdigit() => return Err((end, self.long)),
                _ => return Err((end, self.dash)),
            }
        }
        Ok(v)
    }

    #[cold]
    fn wrong_digit(&self, b: u8) -> &'static str {
        match b {
            b'A'..=b'F' => self.upper,
            b'-' => self.short,
            _ => self.not_hex,
        }
    }
}

/// Trace id, parent id and flags of a `traceparent` value, or where and why it is invalid (as a byte
/// position in `value`; every byte before it is ASCII, so it is also the character position).
pub(crate) fn parse(value: &str) -> Result<(u128, u64, u8), Fail> {
    match fast(value.as_bytes()) {
        Some(ok) => Ok(ok),
        None => checked(value),
    }
}

/// Lowercase hex digit values; `0x10` for any other byte.
static HEX_VALUE: [u8; 256] = {
    let mut t = [0x10u8; 256];
    let mut i = 0;
    while i < 16 {
        t[HEX[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// `s` as lowercase hex (at most 16 digits), or `None`.
#[inline(always)]
fn hex_u64(s: &[u8]) -> Option<u64> {
    let (mut v, mut bad) = (0u64, 0u8);
    for &b in s {
        let d = HEX_VALUE[b as usize];
        bad |= d;
        v = v << 4 | d as u64;
    }
    (bad & 0x10 == 0).then_some(v)
}

/// The valid value without surrounding whitespace, decoded without a branch per digit; `None` for
/// anything else, which [`checked`] then reads field by field to say what is wrong.
#[inline(always)]
fn fast(s: &[u8]) -> Option<(u128, u64, u8)> {
    if s.len() < LEN || s[2] != b'-' || s[35] != b'-' || s[52] != b'-' {
        return None;
    }
    let version = hex_u64(&s[0..2])?;
    let trace = (hex_u64(&s[3..19])? as u128) << 64 | hex_u64(&s[19..35])? as u128;
    let parent = hex_u64(&s[36..52])?;
    let flags = hex_u64(&s[53..55])? as u8;
    let end_ok = s.len() == LEN || (version != 0 && s[LEN] == b'-');
    (version != 0xff && trace != 0 && parent != 0 && end_ok).then_some((trace, parent, flags))
}

/// [`parse`], field by field, for a value the fast path refused (or one with surrounding whitespace).
#[cold]
fn checked(value: &str) -> Result<(u128, u64, u8), Fail> {
    let bytes = value.as_bytes();
    let lead = bytes.iter().take_while(|b| is_ows(**b)).count();
    let trail = bytes[lead..].iter().rev().take_while(|b| is_ows(**b)).count();
    let s = &bytes[lead..bytes.len() - trail];
    let at = |(i, reason): Fail| (lead + i, reason);

    let version = VERSION.read(s).map_err(at)?;
    if version == 0xff {
        return Err(at((0, "version ff is invalid")));
    }
    let trace = TRACE_ID.read(s).map_err(at)?;
    if trace == 0 {
        return Err(at((TRACE_ID.start, "trace id is all zeros")));
    }
    let parent = PARENT_ID.read(s).map_err(at)? as u64;
    if parent == 0 {
        return Err(at((PARENT_ID.start, "parent id is all zeros")));
    }
    let flags = FLAGS.read(s).map_err(at)? as u8;
    match s.get(LEN).copied() {
        None => {}
        Some(b) if b.is_ascii_hexdigit() => return Err(at((LEN, FLAGS.long))),
        Some(_) if version == 0 => return Err(at((LEN, "version 00 ends after the flags"))),
        Some(b'-') => {}
        Some(_) => return Err(at((LEN, "expected '-' or the end after the flags"))),
    }
    Ok((trace, parent, flags))
}

/// A `traceparent` value formatted on the stack (version `00`, the sampled and random flags).
pub(crate) struct Traceparent([u8; LEN]);

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Traceparent {
    /// The value for `ctx`.
    #[inline]
    pub(crate) fn new(ctx: &Context) -> Traceparent {
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        let flags = if ctx.sampled { SAMPLED } else { 0 } | if ctx.random { RANDOM } else { 0 };
        put_hex(&mut out[3..35], ctx.trace_id.0);
        put_hex(&mut out[36..52], ctx.span_id.0 as u128);
        put_hex(&mut out[53..55], flags as u128);
        Traceparent(out)
    }

    /// The value as text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, letters and '-' are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Writes the low `out.len()` hex digits of `v` into `out`, most significant first.
#[inline(always)]
fn put_hex(out: &mut [u8], mut v: u128) {
    for b in out.iter_mut().rev() {
        *b = HEX[(v & 0xf) as usize];
        v >>= 4;
    }
}

impl Context {
    /// Parses a W3C Trace Context `traceparent` header value,
    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, into a context without `tracestate`
    /// or baggage. The sampled (`0x01`) and random (`0x02`) flags are kept; other flag bits are
    /// reserved and dropped, as the Recommendation asks. Future versions (not `00`, not `ff`) are read
    /// by their first four fields.
    ///
    /// ```
    /// let ctx = telem::Context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03").unwrap();
    /// assert!(ctx.sampled && ctx.random);
    /// let err = telem::Context::from_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").unwrap_err();
    /// assert_eq!(err.position, 4);
    /// assert!(err.to_string().ends_with("uppercase hex digit in trace id (only lowercase is valid) at character 4"));
    /// ```
    pub fn from_traceparent(value: &str) -> Result<Context, TraceparentError> {
        let (trace, span, flags) = parse(value).map_err(|(position, reason)| TraceparentError {
            value: value.to_owned(),
            position,
            reason,
        })?;
        Ok(Context {
            sampled: flags & SAMPLED != 0,
            random: flags & RANDOM != 0,
            ..Context::new(TraceId(trace), SpanId(span))
        })
    }

    /// The W3C `traceparent` header value for this context (version `00`, its sampled and random
    /// flags).
    pub fn traceparent(&self) -> String {
        Traceparent::new(self).as_str().to_owned()
    }
}

//! W3C `tracestate`: vendor-specific trace data, an ordered list of `key=value` members.
//!
//! The rules are the Trace Context Recommendation's (Level 1): at most 32 members; a key is a simple
//! key (`a-z`, then up to 255 of `a-z 0-9 _ - * /`) or a multi-tenant key `tenant@system` (tenant: `a-z
//! 0-9`, then up to 240 key characters; system: `a-z`, then up to 13); a value is 1 to 256 printable
//! ASCII characters other than `,` and `=`, not ending in a space. Spaces and tabs around members are
//! ignored, and so are empty members. A key repeated within one value is refused as a member of its
//! own: the first occurrence is kept and the later one dropped ("invalid entries MAY be discarded"),
//! so the rest of the list is still passed on. Anything else invalid refuses the whole value: the
//! Recommendation then asks to discard the header.
//!
//! A `TraceState` is its canonical header text (members joined with `,`, no whitespace; keys and
//! values cannot hold `,` or `=`, so it splits back unambiguously) behind an `Arc`: a
//! [`Context`](crate::Context) carrying one is cloned (for every `Context::current()`) without copying
//! it, extracting a canonical header copies it once, and injecting writes it as it is.

use crate::propagation::traceparent::is_ows;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// At most this many members in a `tracestate`.
pub const MAX_MEMBERS: usize = 32;
/// A `tracestate` written by [`TraceState::header`] is at most this long: members are dropped to fit.
pub const MAX_HEADER_LEN: usize = 512;
/// Members longer than this are the first dropped when a header is over [`MAX_HEADER_LEN`].
const LONG_MEMBER: usize = 128;

/// A parsed `tracestate`: its members in order, the most recently written first.
///
/// ```
/// let mut state: telem::propagation::TraceState = "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE".parse().unwrap();
/// assert_eq!(state.get("congo"), Some("t61rcWkgMzE"));
/// state.set("congo", "ucfJifl5GOE").unwrap();
/// assert_eq!(state.header(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TraceState(Option<Arc<str>>);

/// Why a `tracestate` (or a key or value for it) was refused: the text, where (0-based character
/// position in it) and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStateError {
    /// The value as given (several `tracestate` headers are joined with `,`).
    pub value: String,
    /// The 0-based character position of the first problem found.
    pub position: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid tracestate {:?}: {} at character {}", self.value, self.reason, self.position)
    }
}

impl std::error::Error for TraceStateError {}

/// A problem at byte `at` of the text being checked.
type Fail = (usize, &'static str);

/// Turns a byte position into a character position (the text may hold non-ASCII characters).
fn error(value: String, (at, reason): Fail) -> TraceStateError {
    let position = value.get(..at).map_or(at, |s| s.chars().count());
    TraceStateError { value, position, reason }
}

/// `a-z 0-9 _ - * /`: the characters of a key after its first.
fn is_key_char(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

/// Checks a key (simple or multi-tenant); positions are within `key`.
fn check_key(key: &[u8]) -> Result<(), Fail> {
    let Some(first) = key.first() else { return Err((0, "empty key")) };
    let rest_bad = |part: &[u8], from: usize| {
        part.iter()
            .position(|b| !is_key_char(*b))
            .map(|i| (from + i, "invalid character in key (allowed: a-z 0-9 _ - * / and one @)"))
    };
    match key.iter().position(|b| *b == b'@') {
        None => {
            if !first.is_ascii_lowercase() {
                return Err((0, "key must start with a lowercase letter a-z"));
            }
            if let Some(e) = rest_bad(&key[1..], 1) {
                return Err(e);
            }
            if key.len() > 256 {
                return Err((256, "key longer than 256 characters"));
            }
        }
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            match tenant.first() {
                None => return Err((0, "empty tenant id before '@' in key")),
                Some(b) if !(b.is_ascii_lowercase() || b.is_ascii_digit()) => {
                    return Err((0, "tenant id must start with a-z or 0-9"))
                }
                Some(_) => {}
            }
            if let Some(e) = rest_bad(&tenant[1..], 1) {
                return Err(e);
            }
            if tenant.len() > 241 {
                return Err((241, "tenant id longer than 241 characters"));
            }
            match system.first() {
                None => return Err((at + 1, "empty system id after '@' in key")),
                Some(b) if !b.is_ascii_lowercase() => {
                    return Err((at + 1, "system id must start with a lowercase letter a-z"))
                }
                Some(_) => {}
            }
            if let Some(e) = rest_bad(&system[1..], at + 2) {
                return Err(e);
            }
            if system.len() > 14 {
                return Err((at + 1 + 14, "system id longer than 14 characters"));
            }
        }
    }
    Ok(())
}

/// Checks a value; positions are within `value`.
fn check_value(value: &[u8]) -> Result<(), Fail> {
    if value.is_empty() {
        return Err((0, "empty value"));
    }
    if let Some(i) = value.iter().position(|b| !matches!(b, 0x20..=0x7e) || *b == b',' || *b == b'=') {
        let reason = match value[i] {
            b'=' => "'=' in value",
            _ => "invalid character in value (printable ASCII other than ',' and '=')",
        };
        return Err((i, reason));
    }
    if value.len() > 256 {
        return Err((256, "value longer than 256 characters"));
    }
    if value.last() == Some(&b' ') {
        return Err((value.len() - 1, "value ends with a space"));
    }
    Ok(())
}

impl TraceState {
    /// Parses one `tracestate` header value.
    ///
    /// ```
    /// use telem::propagation::TraceState;
    /// let err = TraceState::parse("rojo=1,Congo=2").unwrap_err();
    /// assert_eq!(err.to_string(), "invalid tracestate \"rojo=1,Congo=2\": key must start with a lowercase letter a-z at character 7");
    /// ```
    pub fn parse(value: &str) -> Result<TraceState, TraceStateError> {
        TraceState::parse_all([value])
    }

    /// Parses several `tracestate` header values as one, as if joined with `,` (how HTTP combines a
    /// header sent several times). Positions in an error are in the joined text.
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str> + Clone) -> Result<TraceState, TraceStateError> {
        TraceState::parse_values(|| values.clone().into_iter())
    }

    /// [`parse_all`](Self::parse_all) over the values `values()` yields (called again for an error's
    /// text).
    pub(crate) fn parse_values<'a, I: Iterator<Item = &'a str>>(
        values: impl Fn() -> I,
    ) -> Result<TraceState, TraceStateError> {
        let mut kept = Members { list: [("", 0); MAX_MEMBERS], len: 0 };
        let (mut offset, mut count) = (0, 0);
        let mut only = "";
        for value in values() {
            Self::parse_into(value, &mut kept).map_err(|(at, reason)| {
                let joined = values().collect::<Vec<_>>().join(",");
                error(joined, (offset + at, reason))
            })?;
            offset += value.len() + 1;
            count += 1;
            only = value;
        }
        let kept = &kept.list[..kept.len];
        if kept.is_empty() {
            return Ok(TraceState(None));
        }
        // Members are slices of the values in order: when one value's members and single commas add up
        // to all of it, nothing was trimmed or dropped and it is already canonical.
        let canonical = kept.iter().map(|(m, _)| m.len()).sum::<usize>() + kept.len() - 1;
        if count == 1 && canonical == only.len() {
            return Ok(TraceState(Some(Arc::from(only))));
        }
        let mut joined = String::with_capacity(canonical);
        for (i, (m, _)) in kept.iter().enumerate() {
            if i > 0 {
                joined.push(',');
            }
            joined.push_str(m);
        }
        Ok(TraceState(Some(Arc::from(joined))))
    }

    /// Adds the members of one value to `kept`, in one pass over its bytes.
    fn parse_into<'a>(value: &'a str, kept: &mut Members<'a>) -> Result<(), Fail> {
        let b = value.as_bytes();
        let (mut start, mut eq) = (0, None);
        for i in 0..=b.len() {
            match b.get(i) {
                Some(b',') | None => {
                    Self::member(value, start, i, eq, kept)?;
                    (start, eq) = (i + 1, None);
                }
                Some(b'=') if eq.is_none() => eq = Some(i),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Checks and keeps the member `value[start..end]` whose first `=` (if any) is at `eq`.
    #[inline(always)]
    fn member<'a>(
        value: &'a str,
        start: usize,
        end: usize,
        eq: Option<usize>,
        kept: &mut Members<'a>,
    ) -> Result<(), Fail> {
        let b = value.as_bytes();
        let (mut s, mut e) = (start, end);
        while s < e && is_ows(b[s]) {
            s += 1;
        }
        while e > s && is_ows(b[e - 1]) {
            e -= 1;
        }
        if s == e {
            return Ok(());
        }
        let Some(eq) = eq.filter(|eq| *eq < e) else { return Err((e, "member has no '='")) };
        let (key, val) = (&b[s..eq], &b[eq + 1..e]);
        check_key(key).map_err(|(i, r)| (s + i, r))?;
        check_value(val).map_err(|(i, r)| (eq + 1 + i, r))?;
        let seen = &kept.list[..kept.len];
        if seen.iter().any(|(m, k)| m.as_bytes()[..*k] == *key) {
            return Ok(()); // a repeated key: the first is kept (see the module's doc)
        }
        if kept.len == MAX_MEMBERS {
            return Err((s, "more than 32 list members"));
        }
        kept.list[kept.len] = (&value[s..e], eq - s);
        kept.len += 1;
        Ok(())
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value` and moves it to the front, as a vendor updating its entry must. When the
    /// list then has more than 32 members the right-most is dropped. An invalid key or value is
    /// refused and changes nothing (the error's text is `key=value`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), TraceStateError> {
        let whole = || format!("{key}={value}");
        check_key(key.as_bytes()).map_err(|e| error(whole(), e))?;
        check_value(value.as_bytes()).map_err(|(i, r)| error(whole(), (key.len() + 1 + i, r)))?;
        let mut out = String::with_capacity(key.len() + 1 + value.len() + self.0.as_ref().map_or(0, |s| s.len() + 1));
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        for m in self.members().filter(|m| split(m).0 != key).take(MAX_MEMBERS - 1) {
            out.push(',');
            out.push_str(m);
        }
        self.0 = Some(Arc::from(out));
        Ok(())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?.to_owned();
        let rest: Vec<&str> = self.members().filter(|m| split(m).0 != key).collect();
        self.0 = (!rest.is_empty()).then(|| Arc::from(rest.join(",")));
        Some(value)
    }

    /// The members as `key=value` text, in order.
    fn members(&self) -> impl Iterator<Item = &str> {
        self.0.as_deref().into_iter().flat_map(|s| s.split(','))
    }

    /// The members in order, `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members().map(split)
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.as_deref().map_or(0, |s| s.bytes().filter(|b| *b == b',').count() + 1)
    }

    /// True when it has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The header value to send: the members joined with `,`, at most 512 characters. When the whole
    /// list is longer, whole members are dropped as the Recommendation asks: first those longer than
    /// 128 characters, from the right, then others from the right, until it fits.
    pub fn header(&self) -> String {
        let mut out = String::new();
        self.write_header(&mut out);
        out
    }

    /// Appends [`header`](Self::header) to `out`.
    pub(crate) fn write_header(&self, out: &mut String) {
        let Some(all) = self.0.as_deref() else { return };
        if all.len() <= MAX_HEADER_LEN {
            out.push_str(all);
            return;
        }
        let mut total = all.len();
        let mut keep = [true; MAX_MEMBERS];
        let sizes: Vec<usize> = self.members().map(str::len).collect();
        for long_first in [true, false] {
            for (i, size) in sizes.iter().enumerate().rev() {
                if total <= MAX_HEADER_LEN {
                    break;
                }
                if let Some(kept @ true) = keep.get_mut(i) {
                    if !long_first || *size > LONG_MEMBER {
                        *kept = false;
                        total = total.saturating_sub(size + 1);
                    }
                }
            }
        }
        out.reserve(total);
        let mut first = true;
        for (_, m) in self.members().enumerate().filter(|(i, _)| keep.get(*i) == Some(&true)) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(m);
        }
    }

    /// The header value when it needs no truncation (the usual case), borrowed.
    pub(crate) fn as_header(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| s.len() <= MAX_HEADER_LEN)
    }
}

/// The members kept while parsing: slices of the values.
struct Members<'a> {
    /// Each member's text and key length.
    list: [(&'a str, usize); MAX_MEMBERS],
    len: usize,
}

/// `key=value` → `(key, value)` (a member always holds one `=`).
fn split(member: &str) -> (&str, &str) {
    member.split_once('=').unwrap_or((member, ""))
}

impl fmt::Display for TraceState {
    /// Writes [`header`](Self::header).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header())
    }
}

impl FromStr for TraceState {
    type Err = TraceStateError;

    fn from_str(s: &str) -> Result<TraceState, TraceStateError> {
        TraceState::parse(s)
    }
}

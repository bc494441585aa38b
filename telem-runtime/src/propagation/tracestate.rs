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
//! The members live behind an `Arc`, so a [`Context`](crate::Context) carrying a `tracestate` is
//! cloned (for every `Context::current()`) without copying it.

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
pub struct TraceState(Option<Arc<Vec<(String, String)>>>);

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
        let mut members: Vec<(String, String)> = Vec::new();
        let mut offset = 0;
        for value in values() {
            Self::parse_into(value, &mut members).map_err(|(at, reason)| {
                let joined = values().collect::<Vec<_>>().join(",");
                error(joined, (offset + at, reason))
            })?;
            offset += value.len() + 1;
        }
        Ok(TraceState((!members.is_empty()).then(|| Arc::new(members))))
    }

    fn parse_into(value: &str, members: &mut Vec<(String, String)>) -> Result<(), Fail> {
        let mut start = 0;
        for member in value.split(',') {
            let at = start;
            start += member.len() + 1;
            let b = member.as_bytes();
            let lead = b.iter().take_while(|c| is_ows(**c)).count();
            let trail = b[lead..].iter().rev().take_while(|c| is_ows(**c)).count();
            let m = &member[lead..member.len() - trail];
            if m.is_empty() {
                continue;
            }
            let at = at + lead;
            let Some(eq) = m.find('=') else { return Err((at + m.len(), "member has no '='")) };
            let (key, val) = (&m[..eq], &m[eq + 1..]);
            check_key(key.as_bytes()).map_err(|(i, r)| (at + i, r))?;
            check_value(val.as_bytes()).map_err(|(i, r)| (at + eq + 1 + i, r))?;
            if members.iter().any(|(k, _)| k == key) {
                continue; // a repeated key: the first is kept (see the module's doc)
            }
            if members.len() == MAX_MEMBERS {
                return Err((at, "more than 32 list members"));
            }
            members.push((key.to_owned(), val.to_owned()));
        }
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
        let members = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        members.retain(|(k, _)| k != key);
        members.insert(0, (key.to_owned(), value.to_owned()));
        members.truncate(MAX_MEMBERS);
        Ok(())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let members = Arc::make_mut(self.0.as_mut()?);
        let i = members.iter().position(|(k, _)| k == key)?;
        let (_, value) = members.remove(i);
        if members.is_empty() {
            self.0 = None;
        }
        Some(value)
    }

    /// The members in order, `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|m| m.iter()).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
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
        let Some(members) = &self.0 else { return };
        let size = |(k, v): &(String, String)| k.len() + 1 + v.len();
        let mut total = members.iter().map(size).sum::<usize>() + members.len() - 1;
        let mut keep = [true; MAX_MEMBERS];
        for long_first in [true, false] {
            for (i, m) in members.iter().enumerate().rev() {
                if total <= MAX_HEADER_LEN {
                    break;
                }
                if let Some(kept @ true) = keep.get_mut(i) {
                    if !long_first || size(m) > LONG_MEMBER {
                        *kept = false;
                        total = total.saturating_sub(size(m) + 1);
                    }
                }
            }
        }
        out.reserve(total);
        let mut first = true;
        for (_, (k, v)) in members.iter().enumerate().filter(|(i, _)| keep.get(*i) == Some(&true)) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
    }
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

//! W3C Baggage: application-defined key/value pairs that travel with the trace.
//!
//! The `baggage` header is `key=value;property,…` (W3C Baggage): a key is an HTTP token, a value is
//! percent-encoded (decoded here as UTF-8, invalid sequences becoming U+FFFD), properties (`;name` or
//! `;name=value`) are kept as written and passed on. Spaces and tabs around members, `=` and `;` are
//! ignored, and so are empty members. A key given twice keeps its last value.
//!
//! Limits enforced: the grammar's 180 members at most and 8192 bytes of header. An incoming header over
//! either is refused whole (the specification asks platforms to carry at least 64 members and 8192
//! bytes, so this is more than any conforming sender may expect to get through). On the way out,
//! [`Baggage::header`] drops whole members from the right that would take the header past 8192 bytes.
//!
//! The members live behind an `Arc`, so a [`Context`](crate::Context) carrying baggage is cloned
//! without copying it.

use crate::propagation::traceparent::is_ows;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// At most this many members (the W3C grammar's `list-member 0*179(…)`).
pub const MAX_MEMBERS: usize = 180;
/// At most this many bytes of `baggage` header, parsed or written.
pub const MAX_BYTES: usize = 8192;

/// Parsed `baggage`: members in order, values decoded.
///
/// ```
/// let mut baggage: telem::propagation::Baggage = "userId=alice, serverNode=DF%2028;region=eu".parse().unwrap();
/// assert_eq!(baggage.get("serverNode"), Some("DF 28"));
/// assert_eq!(baggage.properties("serverNode"), Some("region=eu"));
/// baggage.set("tenant", "a,b").unwrap();
/// assert_eq!(baggage.header(), "userId=alice,serverNode=DF%2028;region=eu,tenant=a%2Cb");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Baggage(Option<Arc<Vec<Member>>>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Member {
    key: String,
    /// Decoded.
    value: String,
    /// As written, without surrounding whitespace, `;`-separated; empty when none.
    properties: String,
}

/// Why a `baggage` value (or a key for it) was refused: the text, where (0-based character position in
/// it) and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaggageError {
    /// The value as given (several `baggage` headers are joined with `,`).
    pub value: String,
    /// The 0-based character position of the first problem found.
    pub position: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

impl fmt::Display for BaggageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid baggage {:?}: {} at character {}", self.value, self.reason, self.position)
    }
}

impl std::error::Error for BaggageError {}

type Fail = (usize, &'static str);

fn error(value: String, (at, reason): Fail) -> BaggageError {
    let position = value.get(..at).map_or(at, |s| s.chars().count());
    BaggageError { value, position, reason }
}

/// RFC 9110 `tchar`: the characters of a token (a baggage key or property name).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `baggage-octet`: what a value may hold unencoded (printable ASCII but space, `"`, `,`, `;`, `\`).
fn is_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn check_key(key: &str, what: &'static str) -> Result<(), Fail> {
    if key.is_empty() {
        return Err((0, what));
    }
    match key.bytes().position(|b| !is_tchar(b)) {
        Some(i) => Err((i, "invalid character in key (a key is an HTTP token)")),
        None => Ok(()),
    }
}

/// `s` without spaces and tabs at either end, and how many bytes were cut at the start.
fn trim(s: &str) -> (&str, usize) {
    let lead = s.bytes().take_while(|b| is_ows(*b)).count();
    let rest = &s[lead..];
    let trail = rest.bytes().rev().take_while(|b| is_ows(*b)).count();
    (&rest[..rest.len() - trail], lead)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decodes `s` (a `%` not followed by two hex digits stays as it is).
fn decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends `value` percent-encoded: every byte that is not a `baggage-octet`, and `%` itself.
fn encode(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if is_octet(b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
    }
}

/// Parses one member (trimmed, non-empty); positions are within `m`.
fn parse_member(m: &str) -> Result<Member, Fail> {
    let (kv, properties) = m.split_once(';').unwrap_or((m, ""));
    let Some(eq) = kv.find('=') else { return Err((kv.len(), "member has no '='")) };
    let (key, key_at) = trim(&kv[..eq]);
    check_key(key, "empty key").map_err(|(i, r)| (key_at + i, r))?;
    let (value, value_lead) = trim(&kv[eq + 1..]);
    if let Some(i) = value.bytes().position(|b| !is_octet(b)) {
        return Err((eq + 1 + value_lead + i, "invalid character in value (it must be percent-encoded)"));
    }
    let mut props = String::new();
    let mut at = kv.len() + 1;
    for property in properties.split(';') {
        let here = at;
        at += property.len() + 1;
        let (p, lead) = trim(property);
        if p.is_empty() {
            continue;
        }
        let (name, pvalue) = match p.find('=') {
            Some(peq) => {
                let (v, v_lead) = trim(&p[peq + 1..]);
                (trim(&p[..peq]).0, Some((v, here + lead + peq + 1 + v_lead)))
            }
            None => (p, None),
        };
        check_key(name, "empty property name").map_err(|(i, r)| (here + lead + i, r))?;
        if let Some((v, v_at)) = pvalue {
            if let Some(i) = v.bytes().position(|b| !is_octet(b)) {
                return Err((v_at + i, "invalid character in property value"));
            }
        }
        if !props.is_empty() {
            props.push(';');
        }
        props.push_str(name);
        if let Some((v, _)) = pvalue {
            props.push('=');
            props.push_str(v);
        }
    }
    Ok(Member { key: key.to_owned(), value: decode(value), properties: props })
}

/// Replaces the member with `member`'s key, or appends `member`; false when that would make 181.
fn upsert(members: &mut Vec<Member>, member: Member) -> bool {
    if let Some(old) = members.iter_mut().find(|m| m.key == member.key) {
        *old = member;
    } else if members.len() == MAX_MEMBERS {
        return false;
    } else {
        members.push(member);
    }
    true
}

impl Baggage {
    /// Parses one `baggage` header value.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let err = Baggage::parse("a=1,b c=2").unwrap_err();
    /// assert_eq!(err.to_string(), "invalid baggage \"a=1,b c=2\": invalid character in key (a key is an HTTP token) at character 5");
    /// ```
    pub fn parse(value: &str) -> Result<Baggage, BaggageError> {
        Baggage::parse_all([value])
    }

    /// Parses several `baggage` header values as one, as if joined with `,`. Positions in an error are
    /// in the joined text.
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str> + Clone) -> Result<Baggage, BaggageError> {
        Baggage::parse_values(|| values.clone().into_iter())
    }

    /// [`parse_all`](Self::parse_all) over the values `values()` yields (called again for an error's
    /// text).
    pub(crate) fn parse_values<'a, I: Iterator<Item = &'a str>>(
        values: impl Fn() -> I,
    ) -> Result<Baggage, BaggageError> {
        let joined = || values().collect::<Vec<_>>().join(",");
        let mut members: Vec<Member> = Vec::new();
        let mut offset = 0;
        for value in values() {
            if offset + value.len() > MAX_BYTES {
                return Err(error(joined(), (MAX_BYTES, "baggage longer than 8192 bytes")));
            }
            let mut start = offset;
            for member in value.split(',') {
                let here = start;
                start += member.len() + 1;
                let (m, lead) = trim(member);
                if m.is_empty() {
                    continue;
                }
                let member = parse_member(m).map_err(|(i, r)| error(joined(), (here + lead + i, r)))?;
                if !upsert(&mut members, member) {
                    return Err(error(joined(), (here + lead, "more than 180 list members")));
                }
            }
            offset += value.len() + 1;
        }
        Ok(Baggage((!members.is_empty()).then(|| Arc::new(members))))
    }

    /// The (decoded) value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.member(key).map(|m| m.value.as_str())
    }

    /// The properties of `key` as written (`;`-separated, e.g. `ttl=60;internal`), if `key` is present.
    pub fn properties(&self, key: &str) -> Option<&str> {
        self.member(key).map(|m| m.properties.as_str())
    }

    fn member(&self, key: &str) -> Option<&Member> {
        self.0.iter().flat_map(|m| m.iter()).find(|m| m.key == key)
    }

    /// Sets `key` to `value` (any text: it is percent-encoded when sent), without properties. A key
    /// already present keeps its place; a new one goes last. Refused when `key` is not an HTTP token
    /// or when a 181st member would be added.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), BaggageError> {
        check_key(key, "empty key").map_err(|e| error(key.to_owned(), e))?;
        let members = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        let member = Member { key: key.to_owned(), value: value.to_owned(), properties: String::new() };
        if !upsert(members, member) {
            return Err(error(key.to_owned(), (0, "more than 180 list members")));
        }
        Ok(())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let members = Arc::make_mut(self.0.as_mut()?);
        let i = members.iter().position(|m| m.key == key)?;
        let member = members.remove(i);
        if members.is_empty() {
            self.0 = None;
        }
        Some(member.value)
    }

    /// The members in order, `(key, decoded value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|m| m.iter()).map(|m| (m.key.as_str(), m.value.as_str()))
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// True when it has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The header value to send: `key=value;properties` joined with `,`, values percent-encoded. A
    /// member that would take it past 8192 bytes is left out.
    pub fn header(&self) -> String {
        let mut out = String::new();
        let mut member = String::new();
        for m in self.0.iter().flat_map(|m| m.iter()) {
            member.clear();
            member.push_str(&m.key);
            member.push('=');
            encode(&m.value, &mut member);
            if !m.properties.is_empty() {
                member.push(';');
                member.push_str(&m.properties);
            }
            let comma = usize::from(!out.is_empty());
            if out.len() + comma + member.len() <= MAX_BYTES {
                if comma == 1 {
                    out.push(',');
                }
                out.push_str(&member);
            }
        }
        out
    }
}

impl fmt::Display for Baggage {
    /// Writes [`header`](Self::header).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header())
    }
}

impl FromStr for Baggage {
    type Err = BaggageError;

    fn from_str(s: &str) -> Result<Baggage, BaggageError> {
        Baggage::parse(s)
    }
}

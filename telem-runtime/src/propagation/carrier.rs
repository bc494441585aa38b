//! Where propagation headers are read from and written to: [`Extractor`] and [`Injector`], with
//! implementations for the usual header containers.
//!
//! Header names are case-insensitive (RFC 9110), so every extractor here matches them ignoring ASCII
//! case; telem always writes them in lowercase.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Something headers can be read from.
pub trait Extractor {
    /// Every value of the header `name` (lowercase), in the order received. A header that came several
    /// times yields several values: two `traceparent` values make the context invalid, several
    /// `tracestate` or `baggage` values are combined with `,`.
    fn values<'a>(&'a self, name: &'static str) -> impl Iterator<Item = &'a str>;
}

/// Something headers can be written to.
pub trait Injector {
    /// Sets the header `name` (lowercase) to `value`, replacing any value it had.
    fn set(&mut self, name: &'static str, value: &str);
}

/// Header names are compared ignoring case; a map holding the same name in two casings yields both
/// values, in the map's (unspecified) order.
impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn values<'a>(&'a self, name: &'static str) -> impl Iterator<Item = &'a str> {
        self.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Writes `name` in lowercase, removing the same name in any other casing first.
impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, name: &'static str, value: &str) {
        if let Some(old) = self.get_mut(name) {
            old.clear();
            old.push_str(value);
            return;
        }
        if self.keys().any(|k| k.eq_ignore_ascii_case(name)) {
            self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        }
        self.insert(name.to_owned(), value.to_owned());
    }
}

/// An ordered list of headers, as a client or server library may hand them over (repeated headers
/// in order).
impl<K: AsRef<str>, V: AsRef<str>> Extractor for [(K, V)] {
    fn values<'a>(&'a self, name: &'static str) -> impl Iterator<Item = &'a str> {
        self.iter().filter(move |(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

/// As for a slice.
impl<K: AsRef<str>, V: AsRef<str>> Extractor for Vec<(K, V)> {
    fn values<'a>(&'a self, name: &'static str) -> impl Iterator<Item = &'a str> {
        self.as_slice().values(name)
    }
}

/// As for a slice.
impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Extractor for [(K, V); N] {
    fn values<'a>(&'a self, name: &'static str) -> impl Iterator<Item = &'a str> {
        self.as_slice().values(name)
    }
}

/// Replaces every header of that name (in any casing) with one, appended last.
impl Injector for Vec<(String, String)> {
    fn set(&mut self, name: &'static str, value: &str) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.push((name.to_owned(), value.to_owned()));
    }
}

#[cfg(feature = "http")]
mod http_impls {
    use super::{Extractor, Injector};
    use http::header::{HeaderMap, HeaderName, HeaderValue};

    const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
    const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
    const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

    /// The names telem writes, without parsing or allocating.
    fn header_name(name: &'static str) -> Option<HeaderName> {
        match name {
            "traceparent" => Some(TRACEPARENT),
            "tracestate" => Some(TRACESTATE),
            "baggage" => Some(BAGGAGE),
            other => HeaderName::from_bytes(other.as_bytes()).ok(),
        }
    }

    /// `HeaderMap` names are case-insensitive already. A value that is not UTF-8 is yielded as
    /// `"\u{FFFD}"`, so it counts (and fails to parse) instead of vanishing.
    impl Extractor for HeaderMap {
        fn values<'a>(&'a self, name: &'static str) -> impl Iterator<Item = &'a str> {
            self.get_all(name).iter().map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("\u{FFFD}"))
        }
    }

    /// Replaces every value of `name`. Values telem writes are always valid header values; a name or
    /// value that is not (only possible when called directly) is not written.
    impl Injector for HeaderMap {
        fn set(&mut self, name: &'static str, value: &str) {
            if let (Some(name), Ok(value)) = (header_name(name), HeaderValue::from_str(value)) {
                self.insert(name, value);
            }
        }
    }
}

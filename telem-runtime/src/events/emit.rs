//! Recording an event: the record layout of an event, and the one path every event takes into its
//! thread's event ring (`event!` and its shorthands, exceptions, the `log` bridge, sessions).
//!
//! An event is a [`Record`] in the thread's *event* ring (spans have a ring of their own, so each
//! signal keeps its own counts). The 64 bytes are read differently from a span's:
//!
//! | field | span | event |
//! |---|---|---|
//! | `trace_id` | its trace | the current span's trace (0 outside any span) |
//! | `site` | call site + status bits | call site + the types of the inline fields (bits 0–3) + sampled (bit 4) |
//! | `span_id` | its id | the current span (0: none), whose span event this is |
//! | `parent_id` | its parent | the first field's value, when it is a scalar |
//! | `start` | start ticks | the event's time, in ticks |
//! | `end` | end ticks | the second field's value, when it and the first are scalars |
//! | `extra` | attributes, … | the other fields (strings, `Display`/`Debug` text), the message |
//!
//! So an event whose leading fields are at most two integers, floats or booleans allocates nothing.

use crate::clock;
use crate::collect::local::{hot, running};
use crate::collect::Signal;
use crate::events::level::Level;
use crate::trace::callsite::CallSite;
use crate::trace::context::SAMPLED;
use crate::trace::record::{Extra, Record};
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;

/// Type tag of an inline field (0: none): `i64`, stored as its bits.
pub(crate) const I64: usize = 1;
/// Type tag of an inline field: `f64`, stored as its bits.
pub(crate) const F64: usize = 2;
/// Type tag of an inline field: `bool`, stored as 0 or 1.
pub(crate) const BOOL: usize = 3;
/// Site bit of an event recorded under a sampled span.
pub(crate) const EVENT_SAMPLED: usize = 0b1_0000;

/// Whether an event of `site` at `level` (the site's own, given again as a constant so it folds) is
/// recorded now: the call site's cached level verdict (one relaxed load), then telem's state.
#[inline(always)]
pub fn enabled(site: &'static CallSite, level: Level) -> bool {
    site.filter.enabled(level, || site.module) && running()
}

/// Records an event of `site` with `fields` (named by `site.keys`, in order) and an optional message.
/// What `telem::event!` expands to once [`enabled`] said yes.
///
/// Inline, so that for the common event — leading scalar fields, no message — the variant of each
/// `Value` built at the call site is known here and the fields fold into two words and a tag before
/// one out-of-line call ([`push_scalars`]); any other event takes [`emit_rest`].
#[doc(hidden)]
#[inline(always)]
pub fn emit<const N: usize>(site: &'static CallSite, fields: [Value; N], message: Option<fmt::Arguments<'_>>) {
    if N <= 2 && message.is_none() {
        let mut inline = Inline::default();
        let mut all = true;
        for value in &fields {
            match scalar(value) {
                Some((tag, word)) => inline.push(tag, word),
                None => all = false,
            }
        }
        if all {
            // Scalars own nothing: nothing to drop.
            std::mem::forget(fields);
            return push_scalars(site, inline.tags, inline.words[0], inline.words[1]);
        }
    }
    emit_rest(site, fields, message)
}

/// The type tag and payload of a scalar value that fits an inline slot.
#[inline(always)]
fn scalar(value: &Value) -> Option<(usize, u64)> {
    match *value {
        Value::I64(v) => Some((I64, v as u64)),
        Value::U64(v) if v <= i64::MAX as u64 => Some((I64, v)),
        Value::F64(v) => Some((F64, v.to_bits())),
        Value::Bool(v) => Some((BOOL, v as u64)),
        _ => None,
    }
}

/// An event whose fields all fit the record: under the current span, now.
#[inline(never)]
fn push_scalars(site: &'static CallSite, tags: usize, first: u64, second: u64) {
    let hot = hot();
    let span = hot.span.get();
    let (trace, sampled) = if span == 0 { (0, 0) } else { (hot.trace.get(), hot.flags.get() & SAMPLED) };
    let time = clock::now();
    let bits = tags | if sampled != 0 { EVENT_SAMPLED } else { 0 };
    hot.push_to(Signal::Events, || Record {
        trace_id: trace,
        site: Record::site_word(site, bits),
        span_id: span,
        parent_id: first,
        start: time,
        end: second,
        extra: None,
    });
}

/// Any other event: the leading scalars inline, the rest and the message in the `Extra`.
#[inline(never)]
fn emit_rest<const N: usize>(site: &'static CallSite, fields: [Value; N], message: Option<fmt::Arguments<'_>>) {
    let mut inline = Inline::default();
    let mut extra: Option<Box<Extra>> = None;
    for (i, value) in fields.into_iter().enumerate() {
        if let Err(value) = inline.take(i, value) {
            let key = site.keys.get(i).copied().unwrap_or("");
            extra.get_or_insert_with(Box::default).attributes.push((Cow::Borrowed(key), value));
        }
    }
    if let Some(message) = message {
        let text = match message.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(message.to_string()),
        };
        extra.get_or_insert_with(Box::default).message = Some(text);
    }
    push(site, inline, extra, None);
}

/// The leading scalar fields of an event, kept in the record itself.
#[derive(Default)]
pub(crate) struct Inline {
    tags: usize,
    words: [u64; 2],
    /// Slots filled; stops at the first field that cannot be inline.
    len: usize,
    closed: bool,
}

impl Inline {
    /// Keeps field `i` inline if it is scalar and every field before it was; else gives it back.
    fn take(&mut self, i: usize, value: Value) -> Result<(), Value> {
        match scalar(&value) {
            Some((tag, word)) if !self.closed && i < 2 => {
                self.push(tag, word);
                Ok(())
            }
            _ => {
                self.closed = true;
                Err(value)
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, tag: usize, word: u64) {
        self.tags |= tag << (2 * self.len);
        self.words[self.len] = word;
        self.len += 1;
    }
}

/// The inline field `slot` (0 or 1) of an event record, if any.
pub(crate) fn inline_field(record: &Record, slot: usize) -> Option<Value> {
    let word = if slot == 0 { record.parent_id } else { record.end };
    match (record.site >> (2 * slot)) & 0b11 {
        I64 => Some(Value::I64(word as i64)),
        F64 => Some(Value::F64(f64::from_bits(word))),
        BOOL => Some(Value::Bool(word != 0)),
        _ => None,
    }
}

/// The ids an event belongs to: the current span's, unless given.
#[derive(Clone, Copy)]
pub(crate) struct Ids {
    pub trace: u128,
    pub span: u64,
    pub sampled: bool,
}

impl Ids {
    /// The current span of this thread (none: zeros).
    pub fn current() -> Ids {
        let hot = hot();
        let span = hot.span.get();
        if span == 0 {
            return Ids { trace: 0, span: 0, sampled: false };
        }
        Ids { trace: hot.trace.get(), span, sampled: hot.flags.get() & SAMPLED != 0 }
    }
}

/// Pushes an event record into this thread's event ring: under the current span, or under `ids`.
#[inline(always)]
pub(crate) fn push(site: &'static CallSite, inline: Inline, extra: Option<Box<Extra>>, ids: Option<Ids>) {
    let ids = ids.unwrap_or_else(Ids::current);
    let time = clock::now();
    let bits = inline.tags | if ids.sampled { EVENT_SAMPLED } else { 0 };
    hot().push_to(Signal::Events, || Record {
        trace_id: ids.trace,
        site: Record::site_word(site, bits),
        span_id: ids.span,
        parent_id: inline.words[0],
        start: time,
        end: inline.words[1],
        extra,
    });
}

#[allow(dead_code)] // the exception and `log` paths use it next
/// Records an event with fields known only at run time (exceptions, the `log` bridge, sessions).
pub(crate) fn emit_with(
    site: &'static CallSite,
    fields: Vec<(Cow<'static, str>, Value)>,
    message: Option<Cow<'static, str>>,
    ids: Option<Ids>,
) {
    let extra = (!fields.is_empty() || message.is_some())
        .then(|| Box::new(Extra { attributes: fields, message, ..Extra::default() }));
    push(site, Inline::default(), extra, ids);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_scalars_go_inline_and_the_rest_to_the_extra() {
        let mut inline = Inline::default();
        assert!(inline.take(0, Value::I64(-3)).is_ok());
        assert!(inline.take(1, Value::Bool(true)).is_ok());
        assert!(inline.take(2, Value::I64(1)).is_err(), "two slots");
        let mut inline = Inline::default();
        assert!(inline.take(0, Value::from("s")).is_err());
        assert!(inline.take(1, Value::I64(1)).is_err(), "after a field that is not inline");
        let mut inline = Inline::default();
        assert!(inline.take(0, Value::U64(u64::MAX)).is_err(), "does not fit an i64");
        let mut inline = Inline::default();
        assert!(inline.take(0, Value::F64(1.5)).is_ok());
        assert_eq!(inline.tags, F64);
    }
}

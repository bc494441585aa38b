//! What exporters see of an event: [`EventRef`], decoded on access from the event's record.

use crate::clock::Converter;
use crate::collect::local::ThreadInfo;
use crate::events::emit::{inline_field, EVENT_SAMPLED};
use crate::events::level::Level;
use crate::ids::{SpanId, TraceId};
use crate::trace::record::Record;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;

/// One event, borrowed from a [`Batch`](crate::Batch): a log record, and — when it was made while a
/// span was current — an event of that span too.
#[derive(Clone, Copy)]
pub struct EventRef<'a> {
    record: &'a Record,
    thread: ThreadInfo,
    clock: &'a Converter,
    index: u64,
}

impl<'a> EventRef<'a> {
    pub(crate) fn new(record: &'a Record, thread: ThreadInfo, clock: &'a Converter, index: u64) -> Self {
        EventRef { record, thread, clock, index }
    }

    pub(crate) fn record(&self) -> &'a Record {
        self.record
    }

    /// `session.start` or `session.end`, made by telem itself.
    #[cfg_attr(not(feature = "console"), allow(dead_code))]
    pub(crate) fn is_session(&self) -> bool {
        let site = self.record.call_site();
        std::ptr::eq(site, &crate::events::session::START) || std::ptr::eq(site, &crate::events::session::END)
    }

    /// The event's name (`cache.miss`, `exception`, `session.start`, a `log` target …).
    pub fn name(&self) -> &'a str {
        self.record.call_site().name
    }

    /// The severity.
    pub fn level(&self) -> Level {
        self.record.call_site().level
    }

    /// The message, if one was given.
    pub fn message(&self) -> Option<&'a str> {
        self.record.extra.as_ref().and_then(|e| e.message.as_deref())
    }

    /// When it happened, Unix nanoseconds.
    pub fn time_unix_ns(&self) -> u64 {
        self.clock.unix_ns(self.record.start)
    }

    /// The trace of the span it was made in (`None` outside any span).
    pub fn trace_id(&self) -> Option<TraceId> {
        (self.record.span_id != 0).then_some(TraceId(self.record.trace_id))
    }

    /// The span it was made in, whose event it is (`None` outside any span).
    pub fn span_id(&self) -> Option<SpanId> {
        (self.record.span_id != 0).then_some(SpanId(self.record.span_id))
    }

    /// Whether that span's trace is sampled (the W3C flag a log record carries).
    pub fn sampled(&self) -> bool {
        self.record.site & EVENT_SAMPLED != 0
    }

    /// Its position in the session: 0 for `session.start`, then one more per event, in the order
    /// events reach the collector.
    pub fn session_index(&self) -> u64 {
        self.index
    }

    /// The fields, in the order the call site gave them.
    pub fn fields(&self) -> Fields<'a> {
        let keys = self.record.call_site().keys;
        let inline = [inline_field(self.record, 0), inline_field(self.record, 1)];
        let set = self.record.extra.as_ref().map(|e| &e.attributes[..]).unwrap_or(&[]);
        Fields { keys, inline, next: 0, set: set.iter() }
    }

    /// The field named `key` (the last one wins).
    pub fn field(&self, key: &str) -> Option<Cow<'a, Value>> {
        self.fields().filter(|(k, _)| *k == key).last().map(|(_, v)| v)
    }

    /// `module_path!()` where it was made (for the `log` bridge: the record's module).
    pub fn module(&self) -> &'static str {
        self.record.call_site().module
    }

    /// Source file.
    pub fn file(&self) -> &'static str {
        self.record.call_site().file
    }

    /// Source line.
    pub fn line(&self) -> u32 {
        self.record.call_site().line
    }

    /// The thread that made it.
    pub fn thread(&self) -> ThreadInfo {
        self.thread
    }
}

impl fmt::Debug for EventRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name())
            .field("level", &self.level())
            .field("message", &self.message())
            .field("span_id", &self.span_id())
            .field("fields", &self.fields().collect::<Vec<_>>())
            .finish()
    }
}

/// The fields of an event: see [`EventRef::fields`]. Scalars kept in the record come as owned
/// values (no allocation), the others borrowed.
#[derive(Clone)]
pub struct Fields<'a> {
    keys: &'static [&'static str],
    inline: [Option<Value>; 2],
    next: usize,
    set: std::slice::Iter<'a, (Cow<'static, str>, Value)>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, Cow<'a, Value>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < 2 {
            let i = self.next;
            self.next += 1;
            if let Some(value) = self.inline[i].take() {
                return Some((self.keys.get(i).copied().unwrap_or(""), Cow::Owned(value)));
            }
        }
        self.set.next().map(|(k, v)| (&**k, Cow::Borrowed(v)))
    }
}

impl EventRef<'_> {
    /// An owned copy, for exporters that keep events beyond the batch.
    pub fn to_data(&self) -> EventData {
        EventData {
            name: self.name().to_owned(),
            level: self.level(),
            message: self.message().map(str::to_owned),
            time_unix_ns: self.time_unix_ns(),
            trace_id: self.trace_id(),
            span_id: self.span_id(),
            sampled: self.sampled(),
            session_index: self.session_index(),
            fields: self.fields().map(|(k, v)| (k.to_owned(), v.into_owned())).collect(),
            module: self.module(),
            file: self.file(),
            line: self.line(),
            thread: self.thread(),
        }
    }
}

/// An owned event (see [`EventRef`] for the meaning of each field).
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct EventData {
    pub name: String,
    pub level: Level,
    pub message: Option<String>,
    pub time_unix_ns: u64,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub sampled: bool,
    pub session_index: u64,
    pub fields: Vec<(String, Value)>,
    pub module: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub thread: ThreadInfo,
}

impl EventData {
    /// The field named `key`, if set (the last one wins).
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

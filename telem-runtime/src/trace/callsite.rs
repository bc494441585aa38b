//! Static call-site metadata, and the span kinds.

use crate::events::filter::LevelCache;
use crate::events::level::Level;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::Mutex;

/// What a span represents, as OpenTelemetry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum SpanKind {
    /// An operation inside the process (the default).
    #[default]
    Internal,
    /// Handling a request from a remote client.
    Server,
    /// A request to a remote server.
    Client,
    /// Sending a message for later, asynchronous processing.
    Producer,
    /// Receiving a message sent by a producer.
    Consumer,
}

impl SpanKind {
    /// The lowercase name: `internal`, `server`, `client`, `producer` or `consumer`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// Where a span or an event comes from: built at compile time by `#[span]` or `event!` as a
/// `static`, so the hot path carries one pointer to it instead of copying strings.
#[derive(Debug)]
#[repr(align(64))] // a record keeps status, sampling and field-type bits in the six low bits of its address
pub struct CallSite {
    /// Span name.
    pub name: &'static str,
    /// Span kind.
    pub kind: SpanKind,
    /// `module_path!()` of the instrumented function; empty for manual spans.
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
    /// Attributes every span of this call site has (a `#[step]`'s index and name), kept once here
    /// instead of in each record.
    pub attributes: &'static [(&'static str, crate::Value)],
    /// Severity: an event's level (spans are `Info`).
    pub level: Level,
    /// An event's field names, in the order the call site gives them.
    pub keys: &'static [&'static str],
    /// This call site's verdict of the level filter, cached (see `events::filter`).
    #[doc(hidden)]
    pub filter: LevelCache,
}

impl CallSite {
    /// Used by the macros to build the `static`.
    #[doc(hidden)]
    pub const fn new(name: &'static str, kind: SpanKind, module: &'static str, file: &'static str, line: u32) -> Self {
        CallSite {
            name,
            kind,
            module,
            file,
            line,
            attributes: &[],
            level: Level::Info,
            keys: &[],
            filter: LevelCache::new(),
        }
    }

    /// An event's call site, used by `telem::event!`.
    #[doc(hidden)]
    pub const fn event(
        name: &'static str,
        level: Level,
        module: &'static str,
        file: &'static str,
        line: u32,
        keys: &'static [&'static str],
    ) -> Self {
        CallSite {
            name,
            kind: SpanKind::Internal,
            module,
            file,
            line,
            attributes: &[],
            level,
            keys,
            filter: LevelCache::new(),
        }
    }

    /// With attributes every span of the call site carries.
    #[doc(hidden)]
    pub const fn with_attributes(mut self, attributes: &'static [(&'static str, crate::Value)]) -> Self {
        self.attributes = attributes;
        self
    }
}

type Key = (usize, usize, usize, SpanKind);

/// The call site of a manual span with a `'static` name: made once per (name, kind, caller location)
/// and kept for the life of the process, so a manual span costs no allocation after its first use.
/// Bounded by the number of distinct `'static` names and call sites in the binary.
pub(crate) fn intern(name: &'static str, kind: SpanKind, at: &'static Location<'static>) -> &'static CallSite {
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<Key, &'static CallSite>> = std::cell::RefCell::new(HashMap::new());
    }
    static GLOBAL: Mutex<Option<HashMap<Key, &'static CallSite>>> = Mutex::new(None);
    let key = (name.as_ptr() as usize, name.len(), at as *const _ as usize, kind);
    let lookup_global = || {
        let mut global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
        *global
            .get_or_insert_with(HashMap::new)
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(CallSite::new(name, kind, "", at.file(), at.line()))))
    };
    CACHE
        .try_with(|cache| *cache.borrow_mut().entry(key).or_insert_with(lookup_global))
        .unwrap_or_else(|_| lookup_global())
}

/// The call site for a span whose name is only known at run time: the name travels with the record.
pub(crate) fn dynamic(kind: SpanKind, at: &'static Location<'static>) -> &'static CallSite {
    intern("", kind, at)
}

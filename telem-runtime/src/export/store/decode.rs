//! Format v2, v3 and v4 block payloads → spans and events. Every read is bounds-checked: a payload whose
//! checksum matched but whose content does not parse (a writer bug, a future version) is an error, never
//! a panic.

use super::event::StoredEvent;
use super::format::*;
use super::read::Stored;
use super::span::StoredSpan;
use crate::clock::Converter;
use crate::events::emit;
use crate::events::level::Level;
use crate::ids::{SpanId, TraceId};
use crate::resource::Resource;
use crate::trace::record::{Link, Status};
use crate::trace::value::Value;
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What a problem inside a payload is, and where (bytes from the payload's start).
pub(super) struct Bad {
    pub at: usize,
    pub what: String,
}

type Result<T> = std::result::Result<T, Bad>;

/// The file's tables, grown by each block.
pub(super) struct Tables {
    /// The file's format version (2, 3 or 4): v2 call-site definitions have no level and no keys; before
    /// v4 a session block holds only the pid and the service name.
    version: u16,
    sites: Vec<Site>,
    threads: HashMap<u64, Arc<str>>,
    /// The last session block's service name and resource.
    session: Option<(Arc<str>, Arc<Resource>)>,
    keys: Vec<String>,
}

struct Site {
    name: Arc<str>,
    kind: crate::SpanKind,
    module: Arc<str>,
    file: Arc<str>,
    line: u32,
    attributes: Vec<(String, Value)>,
    /// An event's level (spans: `Info`; v2: `Info`).
    level: Level,
    /// An event's field keys, in order (v2: none).
    keys: Vec<String>,
}

impl Tables {
    /// Empty tables for a file of format `version`.
    pub fn new(version: u16) -> Tables {
        Tables { version, sites: Vec::new(), threads: HashMap::new(), session: None, keys: Vec::new() }
    }
}

/// Undoes the writer's zigzag: 0, 1, 2, 3 → 0, −1, 1, −2 (as a wrapping `u64` difference).
fn unzigzag(v: u64) -> u64 {
    ((v >> 1) as i64 ^ -((v & 1) as i64)) as u64
}

/// A record as written, before its tables are known.
struct Raw {
    at: usize,
    flags: u16,
    site: u64,
    trace: u128,
    span: u64,
    parent: u64,
    start: u64,
    end: u64,
}

/// Reads little-endian fields from a payload.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bad<T>(&self, what: impl Into<String>) -> Result<T> {
        Err(Bad { at: self.at, what: what.into() })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.at.checked_add(n).and_then(|end| self.bytes.get(self.at..end)) {
            Some(s) => {
                self.at += n;
                Ok(s)
            }
            None => self.bad(format!("block content ends early (needs {n} more bytes)")),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A little-endian unsigned number of `n` (1 to 8) bytes.
    fn uint(&mut self, n: usize) -> Result<u64> {
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(self.take(n)?);
        Ok(u64::from_le_bytes(word))
    }

    fn str(&mut self) -> Result<&'a str> {
        let len = self.u32()? as usize;
        let at = self.at;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| Bad { at, what: "a string is not UTF-8".into() })
    }

    /// A count of items each at least `min` bytes long: refused when the rest of the payload cannot hold
    /// that many, so a damaged count never makes the reader reserve memory for it.
    fn count(&mut self, min: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.bytes.len() - self.at {
            return self.bad(format!("a count of {n} does not fit in the block"));
        }
        Ok(n)
    }

    fn value(&mut self) -> Result<Value> {
        let at = self.at;
        Ok(match self.u8()? {
            VALUE_BOOL => match self.u8()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(Bad { at, what: format!("boolean value {b}") }),
            },
            VALUE_I64 => Value::I64(self.u64()? as i64),
            VALUE_U64 => Value::U64(self.u64()?),
            VALUE_F64 => Value::F64(f64::from_bits(self.u64()?)),
            VALUE_STR => Value::Str(Cow::Owned(self.str()?.to_owned())),
            tag => return Err(Bad { at, what: format!("unknown value tag {tag}") }),
        })
    }

    /// A key: written out (reference 0) or an entry of the file's key table (reference `k` > 0: entry
    /// `k − 1`).
    fn key(&mut self, keys: &[String]) -> Result<String> {
        let at = self.at;
        Ok(match self.u32()? as usize {
            0 => self.str()?.to_owned(),
            k => match keys.get(k - 1) {
                Some(key) => key.clone(),
                None => return Err(Bad { at, what: format!("attribute key {k} is not in the file's table") }),
            },
        })
    }

    /// Attributes whose keys are written out (reference 0) or refer to the file's key table.
    fn attributes(&mut self, keys: &[String]) -> Result<Vec<(String, Value)>> {
        let n = self.count(6)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.key(keys)?;
            out.push((key, self.value()?));
        }
        Ok(out)
    }

    fn end(&self) -> Result<()> {
        if self.at != self.bytes.len() {
            return self.bad(format!("{} bytes left over at the end of the block", self.bytes.len() - self.at));
        }
        Ok(())
    }
}

/// A session block: the pid, the service name, and from v4 the session id and the resource.
pub(super) fn session(tables: &mut Tables, payload: &[u8]) -> Result<()> {
    let mut c = Cursor { bytes: payload, at: 0 };
    let _pid = c.u32()?;
    let _reserved = c.u32()?;
    let service: Arc<str> = Arc::from(c.str()?);
    let resource = match tables.version >= VERSION_4 {
        true => {
            let _session = c.u128()?;
            let attributes = c.attributes(&[])?;
            Resource::from_attributes(attributes.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
        }
        false => Resource::from_service_name(&*service),
    };
    tables.session = Some((service, Arc::new(resource)));
    c.end()
}

/// The service and resource of the records that follow.
fn session_of(tables: &Tables) -> (Arc<str>, Arc<Resource>) {
    tables.session.clone().unwrap_or_else(|| (Arc::from(""), Arc::new(Resource::from_attributes(Vec::new()))))
}

/// The clock at the start of a spans or events block.
fn clock(c: &mut Cursor<'_>) -> Result<Converter> {
    let (anchor_tick, anchor_unix_ns, ns_per_tick) = (c.u64()?, c.u64()?, f64::from_bits(c.u64()?));
    if !(ns_per_tick.is_finite() && (0.0..1e6).contains(&ns_per_tick)) {
        return Err(Bad { at: 16, what: format!("tick rate {ns_per_tick} ns per tick") });
    }
    Ok(Converter::from_parts(anchor_tick, anchor_unix_ns, ns_per_tick))
}

/// The counts after a block's clock: new call sites, new threads, runs, new keys.
struct Counts {
    sites: u32,
    threads: u32,
    runs: u32,
    keys: u32,
}

fn counts(c: &mut Cursor<'_>) -> Result<Counts> {
    Ok(Counts { sites: c.u32()?, threads: c.u32()?, runs: c.u32()?, keys: c.u32()? })
}

/// The keys, call sites and threads a block adds to the file's tables, after its runs.
fn read_tables(c: &mut Cursor<'_>, tables: &mut Tables, counts: &Counts) -> Result<()> {
    for _ in 0..counts.keys {
        let key = c.str()?.to_owned();
        tables.keys.push(key);
    }
    for _ in 0..counts.sites {
        let name = Arc::from(c.str()?);
        let module = Arc::from(c.str()?);
        let file = Arc::from(c.str()?);
        let line = c.u32()?;
        let at = c.at;
        let kind = kind::from_code(c.u8()?).ok_or(Bad { at, what: "unknown span kind".into() })?;
        let mut level = Level::Info;
        if tables.version >= VERSION_3 {
            let at = c.at;
            let code = c.u8()?;
            level = Level::from_u8(code).ok_or_else(|| Bad { at, what: format!("unknown level {code}") })?;
        }
        let attributes = c.attributes(&tables.keys)?;
        let mut keys = Vec::new();
        if tables.version >= VERSION_3 {
            let n = c.count(4)?;
            keys.reserve(n);
            for _ in 0..n {
                keys.push(c.key(&tables.keys)?);
            }
        }
        tables.sites.push(Site { name, kind, module, file, line, attributes, level, keys });
    }
    for _ in 0..counts.threads {
        let id = c.u64()?;
        let name = Arc::from(c.str()?);
        tables.threads.insert(id, name);
    }
    Ok(())
}

/// The thread of a run, once the block's tables are read.
fn thread(tables: &Tables, thread_id: u64, records_at: usize) -> Result<&Arc<str>> {
    tables
        .threads
        .get(&thread_id)
        .ok_or(Bad { at: records_at, what: format!("thread {thread_id} is not in the file's table") })
}

/// A record's call site, once the block's tables are read.
fn site(tables: &Tables, site: u64, at: usize) -> Result<&Site> {
    let found = usize::try_from(site).ok().and_then(|i| tables.sites.get(i));
    found.ok_or_else(|| Bad { at, what: format!("call site {site} is not in the file's table") })
}

/// A spans block of `count` records: its tables join the file's, its spans are appended to `out`
/// (none of them when the block is bad).
pub(super) fn spans(tables: &mut Tables, payload: &[u8], count: u32, out: &mut VecDeque<Stored>) -> Result<()> {
    let mut c = Cursor { bytes: payload, at: 0 };
    let clock = clock(&mut c)?;
    let counts = counts(&mut c)?;
    // The runs: their headers and records. A record is read whole here; its call site and thread are
    // looked up once the tables that follow the runs are read.
    let mut raw = Vec::new();
    let mut run_list = Vec::new();
    for _ in 0..counts.runs {
        let thread = c.u64()?;
        let n = c.count(RECORD_MIN_LEN)?;
        let _reserved = c.u32()?;
        run_list.push((thread, c.at, n));
        raw.reserve(n);
        let mut previous = (0u128, 0u64);
        for _ in 0..n {
            let at = c.at;
            let flags = c.u16()?;
            if flags & !FLAGS_KNOWN != 0 || (flags >> KIND_SHIFT) & 0xf != 0 {
                return Err(Bad { at, what: format!("record flags {flags:#x} unknown to format v{}", tables.version) });
            }
            let lens = c.u8()?;
            let site = c.uint(1 + (lens >> 6) as usize)?;
            let span = c.u64()?;
            let high = previous.0 >> 64 << 64;
            let trace = match (flags >> TRACE_SHIFT) & 0b11 {
                TRACE_FULL => c.u128()?,
                TRACE_SAME => previous.0,
                TRACE_ROOT => high | span as u128,
                _ => high | c.u64()? as u128,
            };
            let parent = if flags & FLAG_PARENT != 0 { c.u64()? } else { 0 };
            let start = previous.1.wrapping_add(unzigzag(c.uint(1 + (lens & 7) as usize)?));
            let end = start.wrapping_add(unzigzag(c.uint(1 + (lens >> 3 & 7) as usize)?));
            previous = (trace, start);
            raw.push(Raw { at, flags, site, trace, span, parent, start, end });
        }
    }
    if raw.len() as u64 != count as u64 {
        return c.bad(format!("the runs hold {} records, the block header says {count}", raw.len()));
    }
    read_tables(&mut c, tables, &counts)?;
    let (service, resource) = session_of(tables);
    let mut spans = Vec::with_capacity(count as usize);
    let mut raw = raw.into_iter();
    for (thread_id, records_at, n) in run_list {
        let thread = thread(tables, thread_id, records_at)?.clone();
        for r in raw.by_ref().take(n) {
            let Raw { at, flags, site: index, trace: trace_id, span: span_id, parent: parent_id, start, end } = r;
            let site = site(tables, index, at)?;
            let mut span = StoredSpan {
                service: service.clone(),
                resource: resource.clone(),
                trace_id: TraceId(trace_id),
                span_id: SpanId(span_id),
                parent_id: (parent_id != 0).then_some(SpanId(parent_id)),
                name: site.name.clone(),
                kind: site.kind,
                start_unix_ns: clock.unix_ns(start),
                end_unix_ns: 0,
                status: Status::Unset,
                attributes: site.attributes.clone(),
                links: Vec::new(),
                module: site.module.clone(),
                file: site.file.clone(),
                line: site.line,
                thread: thread.clone(),
                thread_id,
                events: Vec::new(),
            };
            let mut duration = clock.duration_ns(start, end);
            let mut message = None;
            if flags & FLAG_EXTRA != 0 {
                let present = c.u8()?;
                if present & EXTRA_NAME != 0 {
                    span.name = Arc::from(c.str()?);
                }
                if present & EXTRA_MESSAGE != 0 {
                    message = Some(c.str()?.to_owned());
                }
                if present & EXTRA_UNIX_TIMES != 0 {
                    let (s, e) = (c.u64()?, c.u64()?);
                    span.start_unix_ns = s;
                    duration = e.saturating_sub(s);
                }
                span.attributes.extend(c.attributes(&tables.keys)?);
                let links = c.count(29)?;
                for _ in 0..links {
                    let (trace, id) = (c.u128()?, c.u64()?);
                    let sampled = c.u8()? != 0;
                    let attributes = c.attributes(&tables.keys)?.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect();
                    span.links.push(Link { trace_id: TraceId(trace), span_id: SpanId(id), sampled, attributes });
                }
            }
            span.end_unix_ns = span.start_unix_ns.saturating_add(duration);
            span.status = match flags & FLAG_STATUS {
                0 => Status::Unset,
                1 => Status::Ok,
                2 => Status::Error(Cow::Owned(message.unwrap_or_default())),
                _ => Status::Error(Cow::Borrowed("panicked")),
            };
            spans.push(Stored::Span(span));
        }
    }
    c.end()?;
    out.extend(spans);
    Ok(())
}

/// An event as written, before its tables are known.
struct RawEvent {
    at: usize,
    head: u32,
    site: u64,
    trace: u128,
    span: u64,
    time: u64,
    words: [u64; 2],
}

/// An events block (v3) of `count` events: its tables join the file's, its events are appended to `out`
/// (none of them when the block is bad).
pub(super) fn events(tables: &mut Tables, payload: &[u8], count: u32, out: &mut VecDeque<Stored>) -> Result<()> {
    let mut c = Cursor { bytes: payload, at: 0 };
    let clock = clock(&mut c)?;
    let counts = counts(&mut c)?;
    let mut raw = Vec::new();
    let mut run_list = Vec::new();
    for _ in 0..counts.runs {
        let thread = c.u64()?;
        let n = c.count(EVENT_MIN_LEN)?;
        let _reserved = c.u32()?;
        let first_index = c.u64()?;
        run_list.push((thread, c.at, n, first_index));
        raw.reserve(n);
        // The previous event's time, and the ids of the last event of the run that had a span.
        let (mut time, mut trace, mut span) = (0u64, 0u128, 0u64);
        for _ in 0..n {
            let at = c.at;
            let head = u32::from_le_bytes([c.u8()?, c.u8()?, c.u8()?, 0]);
            if head & !EVENT_HEAD_KNOWN != 0 {
                return Err(Bad { at, what: format!("event head {head:#x} unknown to format v{VERSION}") });
            }
            let len = |shift: u32, mask: u32| 1 + (head >> shift & mask) as usize;
            let site = c.uint(len(EVENT_SITE_SHIFT, 0b11))?;
            let mode = head >> EVENT_SPAN_SHIFT & 0b111;
            match mode {
                EVENT_SPAN_NONE | EVENT_SPAN_SAME => {}
                EVENT_SPAN_ID => span = c.u64()?,
                EVENT_SPAN_LOW => (trace, span) = (trace >> 64 << 64 | c.u64()? as u128, c.u64()?),
                EVENT_SPAN_FULL => (trace, span) = (c.u128()?, c.u64()?),
                _ => return Err(Bad { at, what: format!("unknown event span mode {mode}") }),
            }
            if mode != EVENT_SPAN_NONE && span == 0 {
                return Err(Bad { at, what: "an event in a span with id 0".into() });
            }
            time = time.wrapping_add(unzigzag(c.uint(len(EVENT_TIME_SHIFT, 0b111))?));
            let mut words = [0u64; 2];
            for (i, word) in words.iter_mut().enumerate() {
                let tag = (head >> (2 * i)) as usize & 0b11;
                let n = len(EVENT_FIELD_SHIFT[i], 0b111);
                *word = match tag {
                    0 if n == 1 => continue,
                    0 => return Err(Bad { at, what: format!("event field {i} has no type but a length") }),
                    emit::I64 => unzigzag(c.uint(n)?),
                    emit::F64 => c.uint(n)?.swap_bytes(),
                    _ => match c.uint(n)? {
                        b @ (0 | 1) => b,
                        b => return Err(Bad { at, what: format!("boolean value {b}") }),
                    },
                };
            }
            let (t, s) = if mode == EVENT_SPAN_NONE { (0, 0) } else { (trace, span) };
            raw.push(RawEvent { at, head, site, trace: t, span: s, time, words });
        }
    }
    if raw.len() as u64 != count as u64 {
        return c.bad(format!("the runs hold {} events, the block header says {count}", raw.len()));
    }
    read_tables(&mut c, tables, &counts)?;
    let (service, resource) = session_of(tables);
    let mut events = Vec::with_capacity(count as usize);
    let mut raw = raw.into_iter();
    for (thread_id, records_at, n, first_index) in run_list {
        let thread = thread(tables, thread_id, records_at)?.clone();
        for (i, r) in raw.by_ref().take(n).enumerate() {
            let site = site(tables, r.site, r.at)?;
            let mut fields = Vec::new();
            for (slot, word) in r.words.into_iter().enumerate() {
                let value = match (r.head >> (2 * slot)) as usize & 0b11 {
                    emit::I64 => Value::I64(word as i64),
                    emit::F64 => Value::F64(f64::from_bits(word)),
                    emit::BOOL => Value::Bool(word != 0),
                    _ => continue,
                };
                fields.push((site.keys.get(slot).cloned().unwrap_or_default(), value));
            }
            let mut message = None;
            if r.head & EVENT_HEAD_EXTRA != 0 {
                let at = c.at;
                let present = c.u8()?;
                if present & !EVENT_EXTRA_MESSAGE != 0 {
                    return Err(Bad { at, what: format!("event extra presence {present:#x}") });
                }
                if present & EVENT_EXTRA_MESSAGE != 0 {
                    message = Some(c.str()?.to_owned());
                }
                fields.extend(c.attributes(&tables.keys)?);
            }
            events.push(Stored::Event(StoredEvent {
                service: service.clone(),
                resource: resource.clone(),
                name: site.name.clone(),
                level: site.level,
                message,
                time_unix_ns: clock.unix_ns(r.time),
                trace_id: (r.span != 0).then_some(TraceId(r.trace)),
                span_id: (r.span != 0).then_some(SpanId(r.span)),
                sampled: r.head & EVENT_HEAD_SAMPLED != 0,
                session_index: first_index.wrapping_add(i as u64),
                fields,
                module: site.module.clone(),
                file: site.file.clone(),
                line: site.line,
                thread: thread.clone(),
                thread_id,
            }));
        }
    }
    c.end()?;
    out.extend(events);
    Ok(())
}

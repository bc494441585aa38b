//! Batch → format v4 bytes: a session block when the resource is new to the file, an events block and a spans block. The records are copied field by field
//! (the call-site pointer becomes an index into the file's call-site table), their extras serialised
//! behind them; the tables a block needs (keys, call sites and threads not yet in the file) travel in the
//! same block, so each is written once per file.

use super::format::*;
use crate::events::emit::{self, EVENT_SAMPLED};
use crate::export::Batch;
use crate::resource::Resource;
use crate::trace::callsite::CallSite;
use crate::trace::record::{Extra, Link, Record, LOCAL_ROOT, STATUS_BITS, UNSAMPLED};
use crate::trace::value::Value;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// What the file already holds: call sites by address, threads by id, the service name. Entries a
/// block adds are kept apart until [`Encoder::commit`], so a block that failed to reach the file leaves
/// the tables as the file has them.
#[derive(Default)]
pub(crate) struct Encoder {
    sites: HashMap<usize, u32, BuildHasherDefault<AddressHasher>>,
    threads: HashSet<u64, BuildHasherDefault<AddressHasher>>,
    resource: Option<Arc<Resource>>,
    /// Added by the block being written (addresses, thread ids), for `rollback`.
    new_sites: Vec<usize>,
    new_threads: Vec<u64>,
    /// Site and thread definitions and extras of the block being written, appended to it at the end.
    defs: Vec<u8>,
    thread_defs: Vec<u8>,
    extras: Vec<u8>,
    /// The file's attribute keys.
    keys: Keys,
}

/// The file's table of attribute keys: a `'static` key (almost every key: `fields(…)`, `attribute("k", …)`)
/// is written once per file and referred to by index, keyed by its address; other keys are written out.
#[derive(Default)]
struct Keys {
    map: HashMap<(usize, usize), u32, BuildHasherDefault<AddressHasher>>,
    /// Added since the last commit, for `rollback`.
    added: Vec<(usize, usize)>,
    /// Definitions of the keys the block being written added.
    defs: Vec<u8>,
}

impl Keys {
    /// Writes `key`: `index + 1` into the file's table, or 0 and the string.
    #[inline]
    #[allow(clippy::ptr_arg)] // a `&str` would not say whether the key is `'static`
    fn write(&mut self, out: &mut Vec<u8>, key: &Cow<'static, str>) {
        match key {
            Cow::Borrowed(k) => {
                let id = (k.as_ptr() as usize, k.len());
                let next = self.map.len() as u32;
                let index = *self.map.entry(id).or_insert_with(|| {
                    self.added.push(id);
                    string(&mut self.defs, k);
                    next
                });
                out.extend_from_slice(&(index + 1).to_le_bytes());
            }
            Cow::Owned(k) => {
                out.extend_from_slice(&0u32.to_le_bytes());
                string(out, k);
            }
        }
    }
}

/// Call-site addresses are 16-aligned and thread ids small: one multiply spreads both well enough, and
/// costs a fraction of SipHash on the per-record lookup.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

impl Encoder {
    /// Appends to `out` the blocks for `batch`: a session block first when the service name is new to
    /// the file, then an events block when the batch has events, then a spans block when it has spans
    /// (events first: a span's events are recorded before it ends, so a reader that stops at a torn
    /// block has usually read a span's events with it). Refuses a batch whose block would exceed
    /// [`MAX_PAYLOAD`] (a reader would refuse it: only a batch of millions of spans, or of huge
    /// attribute values, comes near); the caller then rolls back.
    pub(crate) fn encode(&mut self, batch: &Batch, out: &mut Vec<u8>) -> Result<(), String> {
        let known = self.resource.as_ref().is_some_and(|r| Arc::ptr_eq(r, &batch.resource) || **r == *batch.resource);
        if !known {
            self.session(&batch.resource, out);
        }
        let too_large = |what: &str, n: usize, start: usize, out: &Vec<u8>| {
            let payload = out.len() - start - BLOCK_HEADER_LEN;
            match payload > MAX_PAYLOAD as usize {
                true => Err(format!("a batch of {n} {what} encodes to {payload} bytes, more than a block holds")),
                false => Ok(()),
            }
        };
        if !batch.events.is_empty() {
            let start = out.len();
            self.events(batch, out);
            too_large("events", batch.events_len, start, out)?;
        }
        if !batch.chunks.is_empty() {
            let start = out.len();
            self.spans(batch, out);
            too_large("spans", batch.len, start, out)?;
        }
        Ok(())
    }

    /// The tables as they are once the blocks `encode` produced are in the file.
    pub(crate) fn commit(&mut self) {
        self.new_sites.clear();
        self.new_threads.clear();
        self.keys.added.clear();
    }

    /// Forgets what the last `encode` added: its blocks did not reach the file.
    pub(crate) fn rollback(&mut self, resource_before: Option<Arc<Resource>>) {
        for site in self.new_sites.drain(..) {
            self.sites.remove(&site);
        }
        for thread in self.new_threads.drain(..) {
            self.threads.remove(&thread);
        }
        for key in self.keys.added.drain(..) {
            self.keys.map.remove(&key);
        }
        self.resource = resource_before;
    }

    /// The resource the file's last session block carries.
    pub(crate) fn resource(&self) -> Option<Arc<Resource>> {
        self.resource.clone()
    }

    /// A session block: once per session (a resource the file does not hold yet), its keys written out
    /// (the block has no key table of its own).
    fn session(&mut self, resource: &Arc<Resource>, out: &mut Vec<u8>) {
        let start = begin_block(out);
        out.extend_from_slice(&std::process::id().to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        string(out, resource.service_name());
        out.extend_from_slice(&resource.session_id().to_le_bytes());
        out.extend_from_slice(&(resource.attributes().len() as u32).to_le_bytes());
        for (key, v) in resource.attributes() {
            out.extend_from_slice(&0u32.to_le_bytes());
            string(out, key);
            value(out, v);
        }
        end_block(out, start, BLOCK_SESSION, 0);
        self.resource = Some(resource.clone());
    }

    /// Starts a spans or events block: header room, the clock, room for the counts.
    fn open_block(&mut self, batch: &Batch, out: &mut Vec<u8>) -> OpenBlock {
        let start = begin_block(out);
        let (anchor_tick, anchor_unix_ns, ns_per_tick) = batch.clock.parts();
        out.extend_from_slice(&anchor_tick.to_le_bytes());
        out.extend_from_slice(&anchor_unix_ns.to_le_bytes());
        out.extend_from_slice(&ns_per_tick.to_bits().to_le_bytes());
        let counts_at = out.len();
        out.extend_from_slice(&[0; 16]);
        self.defs.clear();
        self.extras.clear();
        self.thread_defs.clear();
        self.keys.defs.clear();
        OpenBlock {
            start,
            counts_at,
            keys_before: self.keys.added.len(),
            sites_before: self.new_sites.len(),
            threads_before: self.new_threads.len(),
        }
    }

    /// Ends a block opened by [`open_block`](Self::open_block) after its runs: the counts, then the
    /// keys, call sites and threads new to the file, then the extras.
    fn close_block(&mut self, block: OpenBlock, out: &mut Vec<u8>, kind: u16, runs: usize, count: u32) {
        let at = block.counts_at;
        let new_sites = (self.new_sites.len() - block.sites_before) as u32;
        let new_threads = (self.new_threads.len() - block.threads_before) as u32;
        let new_keys = (self.keys.added.len() - block.keys_before) as u32;
        out[at..at + 4].copy_from_slice(&new_sites.to_le_bytes());
        out[at + 4..at + 8].copy_from_slice(&new_threads.to_le_bytes());
        out[at + 8..at + 12].copy_from_slice(&(runs as u32).to_le_bytes());
        out[at + 12..at + 16].copy_from_slice(&new_keys.to_le_bytes());
        out.extend_from_slice(&self.keys.defs);
        out.extend_from_slice(&self.defs);
        out.extend_from_slice(&self.thread_defs);
        out.extend_from_slice(&self.extras);
        end_block(out, block.start, kind, count);
    }

    /// Defines the thread in the block being written when it is new to the file.
    fn thread(&mut self, thread: crate::ThreadInfo) {
        if self.threads.insert(thread.id) {
            self.new_threads.push(thread.id);
            self.thread_defs.extend_from_slice(&thread.id.to_le_bytes());
            string(&mut self.thread_defs, thread.name);
        }
    }

    fn spans(&mut self, batch: &Batch, out: &mut Vec<u8>) {
        let block = self.open_block(batch, out);
        let mut count = 0u32;
        // The last call site looked up: spans of one function tend to come in runs.
        let mut last = (usize::MAX, 0u32);
        for chunk in &batch.chunks {
            let records = chunk.run.records();
            self.thread(chunk.thread);
            let mut run = [0u8; RUN_HEADER_LEN];
            run[0..8].copy_from_slice(&chunk.thread.id.to_le_bytes());
            run[8..12].copy_from_slice(&(records.len() as u32).to_le_bytes());
            out.extend_from_slice(&run);
            let mut previous = Previous::default();
            // Records are written in place, into room made for the longest form and cut back after: a
            // scratch record copied out would be read back from the stores that just wrote it, which
            // stalls store-to-load forwarding (measured: a third of the encoding time).
            let mut at = out.len();
            out.resize(at + records.len() * RECORD_MAX_LEN + SCRATCH, 0);
            for record in records {
                let site = record.call_site();
                let address = site as *const CallSite as usize;
                let index = if address == last.0 { last.1 } else { self.site_index(site) };
                last = (address, index);
                let room = out[at..].first_chunk_mut::<SCRATCH>().expect("room made for the longest record");
                at += encode_record(room, &mut previous, record, index);
                if let Some(extra) = &record.extra {
                    encode_extra(&mut self.extras, &mut self.keys, extra);
                }
            }
            out.truncate(at);
            count += records.len() as u32;
        }
        self.close_block(block, out, BLOCK_SPANS, batch.chunks.len(), count);
    }

    /// The events block of a batch: one run per chunk of events, laid out like the spans block.
    fn events(&mut self, batch: &Batch, out: &mut Vec<u8>) {
        let block = self.open_block(batch, out);
        let mut count = 0u32;
        let mut last = (usize::MAX, 0u32);
        for chunk in &batch.events {
            let records = chunk.run.records();
            self.thread(chunk.thread);
            let mut run = [0u8; EVENT_RUN_HEADER_LEN];
            run[0..8].copy_from_slice(&chunk.thread.id.to_le_bytes());
            run[8..12].copy_from_slice(&(records.len() as u32).to_le_bytes());
            run[16..24].copy_from_slice(&chunk.index.to_le_bytes());
            out.extend_from_slice(&run);
            let mut previous = PreviousEvent::default();
            let mut at = out.len();
            out.resize(at + records.len() * EVENT_MAX_LEN + SCRATCH, 0);
            for record in records {
                let site = record.call_site();
                let address = site as *const CallSite as usize;
                let index = if address == last.0 { last.1 } else { self.site_index(site) };
                last = (address, index);
                let room = out[at..].first_chunk_mut::<SCRATCH>().expect("room made for the longest event");
                at += encode_event(room, &mut previous, record, index);
                if let Some(extra) = &record.extra {
                    encode_event_extra(&mut self.extras, &mut self.keys, extra);
                }
            }
            out.truncate(at);
            count += records.len() as u32;
        }
        self.close_block(block, out, BLOCK_EVENTS, batch.events.len(), count);
    }

    /// The site's index in the file's table, defining it in this block when it is new.
    #[cold]
    fn site_index(&mut self, site: &'static CallSite) -> u32 {
        let address = site as *const CallSite as usize;
        let next = self.sites.len() as u32;
        let index = *self.sites.entry(address).or_insert(next);
        if index == next {
            self.new_sites.push(address);
            let d = &mut self.defs;
            string(d, site.name);
            string(d, site.module);
            string(d, site.file);
            d.extend_from_slice(&site.line.to_le_bytes());
            d.push(kind::code(site.kind));
            d.push(site.level as u8);
            d.extend_from_slice(&(site.attributes.len() as u32).to_le_bytes());
            for (key, v) in site.attributes {
                d.extend_from_slice(&0u32.to_le_bytes());
                string(d, key);
                value(d, v);
            }
            d.extend_from_slice(&(site.keys.len() as u32).to_le_bytes());
            for key in site.keys {
                self.keys.write(d, &Cow::Borrowed(key));
            }
        }
        index
    }
}

const _: () = assert!(FLAG_STATUS as usize == STATUS_BITS);
const _: () = assert!(FLAG_UNSAMPLED as usize == UNSAMPLED && FLAG_LOCAL_ROOT as usize == LOCAL_ROOT);

/// Where a block being written starts, and what the tables held before it.
struct OpenBlock {
    start: usize,
    counts_at: usize,
    keys_before: usize,
    sites_before: usize,
    threads_before: usize,
}

/// What a record is written relative to: the previous record of its run.
#[derive(Default)]
struct Previous {
    trace: u128,
    start: u64,
}

/// Room one record is written into: its longest form, plus room for the last 8-byte store of a shorter
/// field.
pub(crate) const SCRATCH: usize = 64;
const _: () = assert!(SCRATCH >= RECORD_MAX_LEN + 8);

/// Writes one record into `out`; returns its length. Ids are copied; the trace id is left out when the
/// previous record (of the same thread) had the same one or the same thread prefix; the call-site index,
/// the start (relative to the previous start) and the duration take as many bytes as their value needs,
/// the lengths kept in one byte. Every field is stored as a full word and the position moves by its
/// length, so there is no branch on the values' sizes.
#[inline(always)]
fn encode_record(out: &mut [u8; SCRATCH], previous: &mut Previous, record: &Record, site: u32) -> usize {
    let mut flags = (record.site & (STATUS_BITS | UNSAMPLED | LOCAL_ROOT)) as u16;
    if record.extra.is_some() {
        flags |= FLAG_EXTRA;
    }
    if record.parent_id != 0 {
        flags |= FLAG_PARENT;
    }
    let (trace, high, low) = (record.trace_id, (record.trace_id >> 64) as u64, record.trace_id as u64);
    let mode = if trace == previous.trace {
        TRACE_SAME
    } else if high != (previous.trace >> 64) as u64 {
        TRACE_FULL
    } else if low == record.span_id {
        TRACE_ROOT
    } else {
        TRACE_LOW
    };
    flags |= mode << TRACE_SHIFT;
    let start = zigzag(record.start.wrapping_sub(previous.start));
    let duration = zigzag(record.end.wrapping_sub(record.start));
    let (site_len, start_len, duration_len) = (byte_len(site as u64), byte_len(start), byte_len(duration));
    let lens = (start_len - 1) | (duration_len - 1) << 3 | (site_len - 1) << 6;
    out[0..2].copy_from_slice(&flags.to_le_bytes());
    out[2] = lens as u8;
    out[3..7].copy_from_slice(&site.to_le_bytes());
    let mut at = 3 + site_len;
    out[at..at + 8].copy_from_slice(&record.span_id.to_le_bytes());
    at += 8;
    match mode {
        TRACE_FULL => {
            out[at..at + 16].copy_from_slice(&trace.to_le_bytes());
            at += 16;
        }
        TRACE_LOW => {
            out[at..at + 8].copy_from_slice(&low.to_le_bytes());
            at += 8;
        }
        _ => {}
    }
    if record.parent_id != 0 {
        out[at..at + 8].copy_from_slice(&record.parent_id.to_le_bytes());
        at += 8;
    }
    out[at..at + 8].copy_from_slice(&start.to_le_bytes());
    at += start_len;
    out[at..at + 8].copy_from_slice(&duration.to_le_bytes());
    at += duration_len;
    *previous = Previous { trace, start: record.start };
    at
}

/// What an event is written relative to: the previous event of its run (its time), and the last one of
/// the run that had a span (its ids).
#[derive(Default)]
struct PreviousEvent {
    trace: u128,
    span: u64,
    time: u64,
}

const _: () = assert!(SCRATCH >= EVENT_MAX_LEN + 8);
// The head keeps the record's own field-type tags and sampled bit, so the tag numbers are the format's.
const _: () = assert!(emit::I64 == 1 && emit::F64 == 2 && emit::BOOL == 3);
const _: () = assert!(EVENT_HEAD_SAMPLED as usize == EVENT_SAMPLED && EVENT_TAGS == 0b1111);

/// An inline field's word as written: an `i64` zigzagged (small either side of zero), an `f64`'s bits
/// byte-swapped (the low mantissa bytes of round numbers are zero), a `bool` as is.
#[inline(always)]
pub(crate) fn field_word(tag: usize, word: u64) -> u64 {
    match tag {
        emit::I64 => zigzag(word),
        emit::F64 => word.swap_bytes(),
        _ => word,
    }
}

/// Writes one event record into `out`; returns its length. Like [`encode_record`]: the time relative to
/// the previous event of the run, the ids left out when they are the previous span event's, each
/// number in as many bytes as it needs, every field stored as a full word.
#[inline(always)]
fn encode_event(out: &mut [u8; SCRATCH], previous: &mut PreviousEvent, record: &Record, site: u32) -> usize {
    let tags = record.site & EVENT_TAGS as usize;
    let mut head = (record.site & (EVENT_TAGS | EVENT_HEAD_SAMPLED) as usize) as u32;
    if record.extra.is_some() {
        head |= EVENT_HEAD_EXTRA;
    }
    let (trace, span) = (record.trace_id, record.span_id);
    let mode = if span == 0 {
        EVENT_SPAN_NONE
    } else if trace == previous.trace && span == previous.span {
        EVENT_SPAN_SAME
    } else if trace == previous.trace {
        EVENT_SPAN_ID
    } else if trace >> 64 == previous.trace >> 64 {
        EVENT_SPAN_LOW
    } else {
        EVENT_SPAN_FULL
    };
    head |= mode << EVENT_SPAN_SHIFT;
    let time = zigzag(record.start.wrapping_sub(previous.time));
    let (time_len, site_len) = (byte_len(time), byte_len(site as u64));
    head |= ((time_len - 1) as u32) << EVENT_TIME_SHIFT | ((site_len - 1) as u32) << EVENT_SITE_SHIFT;
    let tag = [tags & 0b11, tags >> 2 & 0b11];
    let words = [field_word(tag[0], record.parent_id), field_word(tag[1], record.end)];
    let mut lens = [0; 2];
    for i in 0..2 {
        if tag[i] != 0 {
            lens[i] = byte_len(words[i]);
            head |= ((lens[i] - 1) as u32) << EVENT_FIELD_SHIFT[i];
        }
    }
    out[0..4].copy_from_slice(&head.to_le_bytes());
    out[3..7].copy_from_slice(&site.to_le_bytes());
    let mut at = 3 + site_len;
    match mode {
        EVENT_SPAN_FULL => {
            out[at..at + 16].copy_from_slice(&trace.to_le_bytes());
            at += 16;
        }
        EVENT_SPAN_LOW => {
            out[at..at + 8].copy_from_slice(&(trace as u64).to_le_bytes());
            at += 8;
        }
        _ => {}
    }
    if mode >= EVENT_SPAN_ID {
        out[at..at + 8].copy_from_slice(&span.to_le_bytes());
        at += 8;
    }
    out[at..at + 8].copy_from_slice(&time.to_le_bytes());
    at += time_len;
    for i in 0..2 {
        out[at..at + 8].copy_from_slice(&words[i].to_le_bytes());
        at += lens[i];
    }
    previous.time = record.start;
    if span != 0 {
        (previous.trace, previous.span) = (trace, span);
    }
    at
}

/// An event's extra: `present` (bit 0: a message), the message, then the fields not kept inline.
fn encode_event_extra(out: &mut Vec<u8>, keys: &mut Keys, extra: &Extra) {
    out.push(if extra.message.is_some() { EVENT_EXTRA_MESSAGE } else { 0 });
    if let Some(message) = &extra.message {
        string(out, message);
    }
    attributes(out, keys, &extra.attributes);
}

/// Bytes a little-endian `v` needs, 1 to 8 (a 0 takes one byte).
#[inline(always)]
fn byte_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(8)
}

/// A difference of two `u64`s as a signed number, small either side of zero: 0, −1, 1, −2 → 0, 1, 2, 3.
#[inline(always)]
fn zigzag(delta: u64) -> u64 {
    let d = delta as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

/// Reserves the block header; returns where the block starts.
fn begin_block(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; BLOCK_HEADER_LEN]);
    start
}

/// Fills in the header of the block that starts at `start`: kind, length, count, CRC.
fn end_block(out: &mut [u8], start: usize, kind: u16, count: u32) {
    // Truncated only for a block `encode` then refuses.
    let len = (out.len() - start - BLOCK_HEADER_LEN) as u32;
    let (header, payload) = out[start..].split_at_mut(BLOCK_HEADER_LEN);
    header[0..2].copy_from_slice(&kind.to_le_bytes());
    header[4..8].copy_from_slice(&len.to_le_bytes());
    header[8..12].copy_from_slice(&count.to_le_bytes());
    let crc = block_crc(header, payload);
    header[12..16].copy_from_slice(&crc.to_le_bytes());
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Bool(b) => out.extend_from_slice(&[VALUE_BOOL, *b as u8]),
        Value::I64(n) => {
            out.push(VALUE_I64);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::U64(n) => {
            out.push(VALUE_U64);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::F64(n) => {
            out.push(VALUE_F64);
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(VALUE_STR);
            string(out, s);
        }
    }
}

fn attributes(out: &mut Vec<u8>, keys: &mut Keys, attributes: &[(Cow<'static, str>, Value)]) {
    out.extend_from_slice(&(attributes.len() as u32).to_le_bytes());
    for (key, v) in attributes {
        keys.write(out, key);
        value(out, v);
    }
}

fn encode_extra(out: &mut Vec<u8>, keys: &mut Keys, extra: &Extra) {
    let mut present = 0;
    if extra.name.is_some() {
        present |= EXTRA_NAME;
    }
    if extra.status_message.is_some() {
        present |= EXTRA_MESSAGE;
    }
    if extra.unix_times.is_some() {
        present |= EXTRA_UNIX_TIMES;
    }
    out.push(present);
    if let Some(name) = &extra.name {
        string(out, name);
    }
    if let Some(message) = &extra.status_message {
        string(out, message);
    }
    if let Some((start, end)) = extra.unix_times {
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&end.to_le_bytes());
    }
    attributes(out, keys, &extra.attributes);
    out.extend_from_slice(&(extra.links.len() as u32).to_le_bytes());
    for link in &extra.links {
        link_bytes(out, keys, link);
    }
}

fn link_bytes(out: &mut Vec<u8>, keys: &mut Keys, link: &Link) {
    out.extend_from_slice(&link.trace_id.0.to_le_bytes());
    out.extend_from_slice(&link.span_id.0.to_le_bytes());
    out.push(link.sampled as u8);
    attributes(out, keys, &link.attributes);
}

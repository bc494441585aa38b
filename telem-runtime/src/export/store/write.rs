//! Batch → format v2 bytes. The records are copied field by field (the call-site pointer becomes an
//! index into the file's call-site table), their extras serialised behind them; the tables a block needs
//! (call sites and threads not yet in the file) travel in the same block, so each is written once per file.

use super::format::*;
use crate::export::Batch;
use crate::trace::callsite::CallSite;
use crate::trace::record::{Extra, Link, Record, LOCAL_ROOT, STATUS_BITS, UNSAMPLED};
use crate::trace::value::Value;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// What the file already holds: call sites by address, threads by id, the service name. Entries a
/// block adds are kept apart until [`Encoder::commit`], so a block that failed to reach the file leaves
/// the tables as the file has them.
#[derive(Default)]
pub(crate) struct Encoder {
    sites: HashMap<usize, u32, BuildHasherDefault<AddressHasher>>,
    threads: HashSet<u64, BuildHasherDefault<AddressHasher>>,
    service: Option<std::sync::Arc<str>>,
    /// Added by the block being written (addresses, thread ids), for `rollback`.
    new_sites: Vec<usize>,
    new_threads: Vec<u64>,
    /// Site definitions and extras of the block being written, appended to it at the end.
    defs: Vec<u8>,
    extras: Vec<u8>,
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
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

impl Encoder {
    /// Appends to `out` the blocks for `batch`: a session block first when the service name is new to
    /// the file, then one spans block.
    pub(crate) fn encode(&mut self, batch: &Batch, out: &mut Vec<u8>) {
        if self.service.as_deref() != Some(&*batch.service) {
            self.session(&batch.service, out);
        }
        self.spans(batch, out);
    }

    /// The tables as they are once the blocks `encode` produced are in the file.
    pub(crate) fn commit(&mut self) {
        self.new_sites.clear();
        self.new_threads.clear();
    }

    /// Forgets what the last `encode` added: its blocks did not reach the file.
    pub(crate) fn rollback(&mut self, service_before: Option<std::sync::Arc<str>>) {
        for site in self.new_sites.drain(..) {
            self.sites.remove(&site);
        }
        for thread in self.new_threads.drain(..) {
            self.threads.remove(&thread);
        }
        self.service = service_before;
    }

    /// The service name the file's last session block carries.
    pub(crate) fn service(&self) -> Option<std::sync::Arc<str>> {
        self.service.clone()
    }

    fn session(&mut self, service: &std::sync::Arc<str>, out: &mut Vec<u8>) {
        let start = begin_block(out);
        out.extend_from_slice(&std::process::id().to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        string(out, service);
        end_block(out, start, BLOCK_SESSION, 0);
        self.service = Some(service.clone());
    }

    fn spans(&mut self, batch: &Batch, out: &mut Vec<u8>) {
        let start = begin_block(out);
        let (anchor_tick, anchor_unix_ns, ns_per_tick) = batch.clock.parts();
        out.extend_from_slice(&anchor_tick.to_le_bytes());
        out.extend_from_slice(&anchor_unix_ns.to_le_bytes());
        out.extend_from_slice(&ns_per_tick.to_bits().to_le_bytes());
        let counts_at = out.len();
        out.extend_from_slice(&[0; 16]);
        out.reserve(batch.chunks.len() * RUN_HEADER_LEN + batch.len * RECORD_LEN);
        self.defs.clear();
        self.extras.clear();
        let (sites_before, threads_before) = (self.new_sites.len(), self.new_threads.len());
        let mut thread_defs = Vec::new();
        let mut count = 0u32;
        // The last call site looked up: spans of one function tend to come in runs.
        let mut last = (usize::MAX, 0u32);
        for chunk in &batch.chunks {
            let records = chunk.run.records();
            if self.threads.insert(chunk.thread.id) {
                self.new_threads.push(chunk.thread.id);
                thread_defs.extend_from_slice(&chunk.thread.id.to_le_bytes());
                string(&mut thread_defs, chunk.thread.name);
            }
            out.extend_from_slice(&chunk.thread.id.to_le_bytes());
            out.extend_from_slice(&(records.len() as u32).to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            for record in records {
                let site = record.call_site();
                let address = site as *const CallSite as usize;
                let index = if address == last.0 { last.1 } else { self.site_index(site) };
                last = (address, index);
                out.extend_from_slice(&self.record(record, index));
                if let Some(extra) = &record.extra {
                    encode_extra(&mut self.extras, extra);
                }
            }
            count += records.len() as u32;
        }
        let new_sites = (self.new_sites.len() - sites_before) as u32;
        let new_threads = (self.new_threads.len() - threads_before) as u32;
        out[counts_at..counts_at + 4].copy_from_slice(&new_sites.to_le_bytes());
        out[counts_at + 4..counts_at + 8].copy_from_slice(&new_threads.to_le_bytes());
        out[counts_at + 8..counts_at + 12].copy_from_slice(&(batch.chunks.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.defs);
        out.extend_from_slice(&thread_defs);
        out.extend_from_slice(&self.extras);
        end_block(out, start, BLOCK_SPANS, count);
    }

    #[inline(always)]
    fn record(&self, record: &Record, site: u32) -> [u8; RECORD_LEN] {
        let mut flags = (record.site & (STATUS_BITS | UNSAMPLED | LOCAL_ROOT)) as u32;
        if record.extra.is_some() {
            flags |= FLAG_EXTRA;
        }
        let mut r = [0u8; RECORD_LEN];
        r[0..16].copy_from_slice(&record.trace_id.to_le_bytes());
        r[16..24].copy_from_slice(&record.span_id.to_le_bytes());
        r[24..32].copy_from_slice(&record.parent_id.to_le_bytes());
        r[32..40].copy_from_slice(&record.start.to_le_bytes());
        r[40..48].copy_from_slice(&record.end.to_le_bytes());
        r[48..52].copy_from_slice(&site.to_le_bytes());
        r[52..56].copy_from_slice(&flags.to_le_bytes());
        r
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
            d.extend_from_slice(&(site.attributes.len() as u32).to_le_bytes());
            for (key, v) in site.attributes {
                string(d, key);
                value(d, v);
            }
        }
        index
    }
}

/// Reserves the block header; returns where the block starts.
fn begin_block(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; BLOCK_HEADER_LEN]);
    start
}

/// Fills in the header of the block that starts at `start`: kind, length, count, CRC.
fn end_block(out: &mut [u8], start: usize, kind: u16, count: u32) {
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

fn attributes<'a>(out: &mut Vec<u8>, attributes: impl ExactSizeIterator<Item = (&'a str, &'a Value)>) {
    out.extend_from_slice(&(attributes.len() as u32).to_le_bytes());
    for (key, v) in attributes {
        string(out, key);
        value(out, v);
    }
}

fn encode_extra(out: &mut Vec<u8>, extra: &Extra) {
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
    attributes(out, extra.attributes.iter().map(|(k, v)| (&**k, v)));
    out.extend_from_slice(&(extra.links.len() as u32).to_le_bytes());
    for link in &extra.links {
        link_bytes(out, link);
    }
}

fn link_bytes(out: &mut Vec<u8>, link: &Link) {
    out.extend_from_slice(&link.trace_id.0.to_le_bytes());
    out.extend_from_slice(&link.span_id.0.to_le_bytes());
    out.push(link.sampled as u8);
    attributes(out, link.attributes.iter().map(|(k, v)| (&**k, v)));
}

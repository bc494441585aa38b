//! Reading session files back: [`Reader`] streams the spans (or, through [`Reader::items`], the spans and
//! events) of one file (format v4, v3 or v2, or v1 JSON lines); [`read_file`] and [`read_dir`] collect the
//! spans with their events, [`read_file_all`] and [`read_dir_all`] the events too. A damaged file yields
//! everything before the damage, then one [`ReadError`] naming the file and the byte offset; no input
//! makes the reader panic.

use super::decode::{self, Tables};
use super::event::StoredEvent;
use super::format::*;
use super::span::StoredSpan;
use crate::ids::{SpanId, TraceId};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// What is wrong at the offset a [`ReadError`] names.
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// The file starts with neither the binary format's magic bytes nor a JSON line.
    NotAStore,
    /// A binary header with a version this reader does not know.
    UnsupportedVersion(u16),
    /// The file ends inside a header, a block or a line: its writer was stopped mid-write (killed), or
    /// is still writing.
    Torn,
    /// A block's CRC-32 does not match its bytes: the file was damaged.
    Checksum,
    /// The bytes are whole and checksummed but do not parse (the message says why).
    Malformed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(e) => write!(f, "{e}"),
            Problem::NotAStore => f.write_str("not a telem store file (neither binary nor JSON lines)"),
            Problem::UnsupportedVersion(v) => write!(f, "store format version {v}; this reader knows 1, 2 and 3"),
            Problem::Torn => {
                f.write_str("the file ends in the middle of a block (torn write: killed, or still being written)")
            }
            Problem::Checksum => f.write_str("block checksum mismatch (damaged file)"),
            Problem::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

/// Why reading a session file stopped, and where.
#[derive(Debug)]
pub struct ReadError {
    path: PathBuf,
    offset: u64,
    problem: Problem,
}

impl ReadError {
    fn new(path: &Path, offset: u64, problem: Problem) -> ReadError {
        ReadError { path: path.to_owned(), offset, problem }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Byte offset in the file of the block, line or field that could not be read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What is wrong there.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: at byte {}: {}", self.path.display(), self.offset, self.problem)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// One item of a session file: what [`Reader::items`] yields.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Stored {
    /// A span (its `events` are empty: the reader streams, and joins nothing).
    Span(StoredSpan),
    /// An event.
    Event(StoredEvent),
}

/// Everything [`read_file_all`] or [`read_dir_all`] read: the spans, each with its events, and every
/// event (log records and span events alike), each in the order stored.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Contents {
    /// Every span, with its events.
    pub spans: Vec<StoredSpan>,
    /// Every event, those inside a span too (they are also in that span's `events`).
    pub events: Vec<StoredEvent>,
}

/// What could be read, and why the rest could not: what the `read_*` functions return when a file is
/// damaged or torn.
pub struct PartialRead {
    /// Every span before the damage (in `read_dir`, of every file), with its events.
    pub spans: Vec<StoredSpan>,
    /// Every event before the damage.
    pub events: Vec<StoredEvent>,
    /// One error per file that could not be read to its end.
    pub errors: Vec<ReadError>,
}

impl fmt::Debug for PartialRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the spans: there may be millions.
        f.debug_struct("PartialRead")
            .field("spans", &self.spans.len())
            .field("events", &self.events.len())
            .field("errors", &self.errors)
            .finish()
    }
}

impl fmt::Display for PartialRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        write!(f, " ({} spans and {} events read)", self.spans.len(), self.events.len())
    }
}

impl std::error::Error for PartialRead {}

/// Reads every span of one session file, in the order they were written, each with its events.
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<StoredSpan>, PartialRead> {
    read_file_all(path).map(|c| c.spans)
}

/// Reads every span and every event of one session file, in the order they were written; each span
/// also gets its events.
pub fn read_file_all(path: impl AsRef<Path>) -> Result<Contents, PartialRead> {
    let mut contents = Contents::default();
    let error = collect(path.as_ref(), &mut contents).err();
    finish(contents, error.into_iter().collect())
}

/// Reads every span of every session file (`*.telem`, and v1 `*.jsonl`) in a store directory, in
/// file-name order (the names start with the session's UTC start time), each span with its events;
/// other files are left alone. A damaged file does not stop the others: the result then holds every
/// span read and one error per damaged file.
pub fn read_dir(dir: impl AsRef<Path>) -> Result<Vec<StoredSpan>, PartialRead> {
    read_dir_all(dir).map(|c| c.spans)
}

/// [`read_dir`] with the events: every span and every event of every session file in the directory;
/// spans get their events from any of the files (a span's events may come from another process that
/// made it current, through `Context::attach`).
pub fn read_dir_all(dir: impl AsRef<Path>) -> Result<Contents, PartialRead> {
    let dir = dir.as_ref();
    let mut contents = Contents::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return finish(contents, vec![ReadError::new(dir, 0, Problem::Io(e))]),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "telem" || e == "jsonl") && p.is_file())
        .collect();
    files.sort();
    let errors: Vec<ReadError> = files.iter().filter_map(|f| collect(f, &mut contents).err()).collect();
    finish(contents, errors)
}

/// Gives each span its events, then the result.
fn finish(mut contents: Contents, errors: Vec<ReadError>) -> Result<Contents, PartialRead> {
    join(&mut contents.spans, &contents.events);
    match errors.is_empty() {
        true => Ok(contents),
        false => Err(PartialRead { spans: contents.spans, events: contents.events, errors }),
    }
}

/// Copies each event made inside a span into that span's `events`, in the order the events were read.
fn join(spans: &mut [StoredSpan], events: &[StoredEvent]) {
    let mut by_span: HashMap<(TraceId, SpanId), Vec<&StoredEvent>> = HashMap::new();
    for e in events {
        if let (Some(trace), Some(span)) = (e.trace_id, e.span_id) {
            by_span.entry((trace, span)).or_default().push(e);
        }
    }
    if by_span.is_empty() {
        return;
    }
    for span in spans {
        if let Some(list) = by_span.get(&(span.trace_id, span.span_id)) {
            span.events = list.iter().map(|&e| e.clone()).collect();
        }
    }
}

fn collect(path: &Path, contents: &mut Contents) -> Result<(), ReadError> {
    for item in Reader::open(path)?.items() {
        match item? {
            Stored::Span(span) => contents.spans.push(span),
            Stored::Event(event) => contents.events.push(event),
        }
    }
    Ok(())
}

/// The spans of one session file, one at a time: `Ok` for each span, then at most one `Err` (after
/// which the iterator ends). [`Reader::items`] yields the events too. The binary formats are read a
/// block at a time, v1 a line at a time, so a file is never held in memory whole. Spans come without
/// their events (`events` is empty: an event may be stored after its span); [`read_file`] joins them.
pub struct Reader {
    path: PathBuf,
    source: Source,
}

enum Source {
    Done,
    V1 {
        file: BufReader<File>,
        offset: u64,
        line: Vec<u8>,
    },
    /// Format v2, v3 or v4 (`tables` knows which).
    Binary {
        version: u16,
        file: BufReader<File>,
        offset: u64,
        tables: Box<Tables>,
        pending: VecDeque<Stored>,
        payload: Vec<u8>,
    },
}

impl Reader {
    /// Opens a session file and reads its header. An empty file is a store with no spans.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader, ReadError> {
        let path = path.as_ref();
        let io = |e| ReadError::new(path, 0, Problem::Io(e));
        let mut file = File::open(path).map_err(io)?;
        let mut header = [0u8; FILE_HEADER_LEN];
        let n = read_up_to(&mut file, &mut header).map_err(io)?;
        let head = &header[..n];
        let source = if n == 0 {
            Source::Done
        } else if head.starts_with(&MAGIC) || MAGIC.starts_with(head) {
            if n < FILE_HEADER_LEN {
                return Err(ReadError::new(path, 0, Problem::Torn));
            }
            let version = u16::from_le_bytes([header[8], header[9]]);
            if !(VERSION_2..=VERSION).contains(&version) {
                return Err(ReadError::new(path, 8, Problem::UnsupportedVersion(version)));
            }
            let header_len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as u64;
            let file_len = file.metadata().map_err(io)?.len();
            if header_len < FILE_HEADER_LEN as u64 || header_len > file_len {
                return Err(ReadError::new(path, 12, Problem::Malformed(format!("header length {header_len}"))));
            }
            // A later version may extend the header; what this version knows is its first 16 bytes.
            file.seek(std::io::SeekFrom::Start(header_len)).map_err(io)?;
            Source::Binary {
                version,
                file: BufReader::with_capacity(1 << 16, file),
                offset: header_len,
                tables: Box::new(Tables::new(version)),
                pending: VecDeque::new(),
                payload: Vec::new(),
            }
        } else if head.iter().find(|b| !b.is_ascii_whitespace()).is_none_or(|&b| b == b'{') {
            file.rewind().map_err(io)?;
            Source::V1 { file: BufReader::new(file), offset: 0, line: Vec::new() }
        } else {
            return Err(ReadError::new(path, 0, Problem::NotAStore));
        };
        Ok(Reader { path: path.to_owned(), source })
    }

    /// The file's store format: 3 (what telem writes), 2, 1 (JSON lines), or 0 for an empty file (and
    /// once the reader has ended).
    pub fn version(&self) -> u16 {
        match self.source {
            Source::Done => 0,
            Source::V1 { .. } => 1,
            Source::Binary { version, .. } => version,
        }
    }

    /// The spans and the events of the file, one at a time, in the order they were stored (each
    /// batch's events before its spans); then at most one `Err`.
    pub fn items(self) -> Items {
        Items(self)
    }

    /// The next span or event.
    fn next_item(&mut self) -> Option<Result<Stored, ReadError>> {
        let next = match self.source {
            Source::Done => None,
            Source::V1 { .. } => self.next_v1().map(|r| r.map(Stored::Span)),
            Source::Binary { .. } => self.next_binary(),
        };
        if !matches!(next, Some(Ok(_))) {
            self.source = Source::Done;
        }
        next
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn next_v1(&mut self) -> Option<Result<StoredSpan, ReadError>> {
        let Source::V1 { file, offset, line } = &mut self.source else { return None };
        loop {
            line.clear();
            let at = *offset;
            match file.read_until(b'\n', line) {
                Ok(0) => return None,
                Ok(n) => *offset += n as u64,
                Err(e) => return Some(Err(ReadError::new(&self.path, at, Problem::Io(e)))),
            }
            let whole = line.last() == Some(&b'\n');
            let text = match std::str::from_utf8(line) {
                Ok(t) => t.trim(),
                Err(_) if !whole => return Some(Err(ReadError::new(&self.path, at, Problem::Torn))),
                Err(_) => return Some(Err(ReadError::new(&self.path, at, Problem::Malformed("not UTF-8".into())))),
            };
            if text.is_empty() {
                continue;
            }
            return Some(match super::v1::parse_line(text) {
                Ok(span) => Ok(span),
                // The writer ends every line with a newline: a last line without one that does not parse
                // was cut short.
                Err(_) if !whole => Err(ReadError::new(&self.path, at, Problem::Torn)),
                Err(why) => Err(ReadError::new(&self.path, at, Problem::Malformed(why))),
            });
        }
    }

    fn next_binary(&mut self) -> Option<Result<Stored, ReadError>> {
        let Source::Binary { version, file, offset, tables, pending, payload } = &mut self.source else {
            return None;
        };
        loop {
            if let Some(item) = pending.pop_front() {
                return Some(Ok(item));
            }
            let at = *offset;
            let fail = |problem| Some(Err(ReadError::new(&self.path, at, problem)));
            let mut header = [0u8; BLOCK_HEADER_LEN];
            match read_up_to(file, &mut header) {
                Ok(0) => return None,
                Ok(BLOCK_HEADER_LEN) => {}
                Ok(_) => return fail(Problem::Torn),
                Err(e) => return fail(Problem::Io(e)),
            }
            let kind = u16::from_le_bytes([header[0], header[1]]);
            let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let count = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
            let crc = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
            if len > MAX_PAYLOAD {
                return fail(Problem::Malformed(format!("block length {len} is beyond any block telem writes")));
            }
            payload.clear();
            match file.by_ref().take(len as u64).read_to_end(payload) {
                Ok(n) if n == len as usize => {}
                Ok(_) => return fail(Problem::Torn),
                Err(e) => return fail(Problem::Io(e)),
            }
            if block_crc(&header, payload) != crc {
                return fail(Problem::Checksum);
            }
            let decoded = match kind {
                BLOCK_SESSION => decode::session(tables, payload),
                BLOCK_SPANS => decode::spans(tables, payload, count, pending),
                BLOCK_EVENTS if *version >= VERSION_3 => decode::events(tables, payload, count, pending),
                // A kind added later that this version does not know: whole and checksummed, so skipped.
                _ => Ok(()),
            };
            if let Err(bad) = decoded {
                let where_ = at + BLOCK_HEADER_LEN as u64 + bad.at as u64;
                return Some(Err(ReadError::new(&self.path, where_, Problem::Malformed(bad.what))));
            }
            *offset += (BLOCK_HEADER_LEN + payload.len()) as u64;
        }
    }
}

impl Iterator for Reader {
    type Item = Result<StoredSpan, ReadError>;

    /// The next span; events are read (their tables are the file's too) and passed over.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_item()? {
                Ok(Stored::Span(span)) => return Some(Ok(span)),
                Ok(Stored::Event(_)) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The spans and events of one session file: see [`Reader::items`].
pub struct Items(Reader);

impl Items {
    /// The reader, for its [`path`](Reader::path) and [`version`](Reader::version).
    pub fn reader(&self) -> &Reader {
        &self.0
    }
}

impl Iterator for Items {
    type Item = Result<Stored, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_item()
    }
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read.
fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

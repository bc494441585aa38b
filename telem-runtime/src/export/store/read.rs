//! Reading session files back: [`Reader`] streams the spans of one file (format v2, or v1 JSON lines),
//! [`read_file`] and [`read_dir`] collect them. A damaged file yields every span before the damage,
//! then one [`ReadError`] naming the file and the byte offset; no input makes the reader panic.

use super::decode::{self, Tables};
use super::format::*;
use super::span::StoredSpan;
use std::collections::VecDeque;
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
    /// The file starts with neither the v2 magic bytes nor a JSON line.
    NotAStore,
    /// A v2 header with a version this reader does not know.
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
            Problem::NotAStore => f.write_str("not a telem store file (neither format v2 nor JSON lines)"),
            Problem::UnsupportedVersion(v) => write!(f, "store format version {v}; this reader knows 1 and 2"),
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

/// The spans that could be read, and why the rest could not: what [`read_file`] and [`read_dir`]
/// return when a file is damaged or torn.
pub struct PartialRead {
    /// Every span before the damage (in `read_dir`, of every file).
    pub spans: Vec<StoredSpan>,
    /// One error per file that could not be read to its end.
    pub errors: Vec<ReadError>,
}

impl fmt::Debug for PartialRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the spans: there may be millions.
        f.debug_struct("PartialRead").field("spans", &self.spans.len()).field("errors", &self.errors).finish()
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
        write!(f, " ({} spans read)", self.spans.len())
    }
}

impl std::error::Error for PartialRead {}

/// Reads every span of one session file, in the order they were written.
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<StoredSpan>, PartialRead> {
    let mut spans = Vec::new();
    match collect(path.as_ref(), &mut spans) {
        Ok(()) => Ok(spans),
        Err(e) => Err(PartialRead { spans, errors: vec![e] }),
    }
}

/// Reads every session file (`*.telem`, and v1 `*.jsonl`) in a store directory, in file-name order (the
/// names start with the session's UTC start time); other files are left alone. A damaged file does not
/// stop the others: the result then holds every span read and one error per damaged file.
pub fn read_dir(dir: impl AsRef<Path>) -> Result<Vec<StoredSpan>, PartialRead> {
    let dir = dir.as_ref();
    let mut spans = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return Err(PartialRead { spans, errors: vec![ReadError::new(dir, 0, Problem::Io(e))] }),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "telem" || e == "jsonl") && p.is_file())
        .collect();
    files.sort();
    let errors: Vec<ReadError> = files.iter().filter_map(|f| collect(f, &mut spans).err()).collect();
    match errors.is_empty() {
        true => Ok(spans),
        false => Err(PartialRead { spans, errors }),
    }
}

fn collect(path: &Path, spans: &mut Vec<StoredSpan>) -> Result<(), ReadError> {
    for span in Reader::open(path)? {
        spans.push(span?);
    }
    Ok(())
}

/// The spans of one session file, one at a time: `Ok` for each span, then at most one `Err` (after
/// which the iterator ends). Format v2 is read a block at a time, v1 a line at a time, so a file is never
/// held in memory whole.
pub struct Reader {
    path: PathBuf,
    source: Source,
}

enum Source {
    Done,
    V1 { file: BufReader<File>, offset: u64, line: Vec<u8> },
    V2 { file: BufReader<File>, offset: u64, tables: Box<Tables>, pending: VecDeque<StoredSpan>, payload: Vec<u8> },
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
            if version != VERSION {
                return Err(ReadError::new(path, 8, Problem::UnsupportedVersion(version)));
            }
            let header_len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as u64;
            let file_len = file.metadata().map_err(io)?.len();
            if header_len < FILE_HEADER_LEN as u64 || header_len > file_len {
                return Err(ReadError::new(path, 12, Problem::Malformed(format!("header length {header_len}"))));
            }
            // A later version may extend the header; what this version knows is its first 16 bytes.
            file.seek(std::io::SeekFrom::Start(header_len)).map_err(io)?;
            Source::V2 {
                file: BufReader::with_capacity(1 << 16, file),
                offset: header_len,
                tables: Box::default(),
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

    /// The file's store format: 2, 1 (JSON lines), or 0 for an empty file.
    pub fn version(&self) -> u16 {
        match self.source {
            Source::Done => 0,
            Source::V1 { .. } => 1,
            Source::V2 { .. } => VERSION,
        }
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

    fn next_v2(&mut self) -> Option<Result<StoredSpan, ReadError>> {
        let Source::V2 { file, offset, tables, pending, payload } = &mut self.source else { return None };
        loop {
            if let Some(span) = pending.pop_front() {
                return Some(Ok(span));
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

    fn next(&mut self) -> Option<Self::Item> {
        let next = match self.source {
            Source::Done => None,
            Source::V1 { .. } => self.next_v1(),
            Source::V2 { .. } => self.next_v2(),
        };
        if !matches!(next, Some(Ok(_))) {
            self.source = Source::Done;
        }
        next
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

//! The store exporter: one session file per process session, a file header, then per exported batch an
//! events block and a spans block (each when the batch has some), appended with one `write` per batch.

use super::format::{FILE_HEADER_LEN, MAGIC, VERSION};
use super::write::Encoder;
use crate::config::Config;
use crate::export::{Batch, ExportError, Exporter};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends spans and events in store format v4 to a session file `<dir>/<UTC start>-<pid>.telem`. Read it back
/// with [`super::read_file`] or [`super::read_dir`].
pub struct Store {
    path: PathBuf,
    file: File,
    /// Bytes of the file known good: a failed write is cut back to here, so the file never keeps a torn
    /// block in the middle (only a crash can leave one, at the end).
    len: u64,
    encoder: Encoder,
    buf: Vec<u8>,
}

impl Store {
    /// Opens a new session file in `dir`, creating the directory if needed, and writes the file header.
    pub fn open(dir: &Path) -> Result<Store, ExportError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ExportError(format!("cannot create store directory {}: {e}", dir.display())))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stamp = utc_stamp(now.as_secs());
        let mut n = 0;
        let (path, mut file) = loop {
            let name = match n {
                0 => format!("{stamp}-{}.telem", std::process::id()),
                _ => format!("{stamp}-{}-{n}.telem", std::process::id()),
            };
            let path = dir.join(name);
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(ExportError(format!("cannot create store file {}: {e}", path.display()))),
            }
        };
        let mut header = [0u8; FILE_HEADER_LEN];
        header[0..8].copy_from_slice(&MAGIC);
        header[8..10].copy_from_slice(&VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(FILE_HEADER_LEN as u32).to_le_bytes());
        file.write_all(&header).map_err(|e| ExportError(format!("cannot write {}: {e}", path.display())))?;
        Ok(Store { path, file, len: FILE_HEADER_LEN as u64, encoder: Encoder::default(), buf: Vec::new() })
    }

    /// The session file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn build(config: &Config) -> Result<Option<Box<dyn Exporter>>, ExportError> {
        if !config.store() {
            return Ok(None);
        }
        Ok(Some(Box::new(Store::open(config.store_dir())?)))
    }
}

impl Exporter for Store {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.buf.clear();
        let resource = self.encoder.resource();
        if let Err(why) = self.encoder.encode(batch, &mut self.buf) {
            self.encoder.rollback(resource);
            return Err(ExportError(format!("cannot write {}: {why}", self.path.display())));
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => {
                self.encoder.commit();
                self.len += self.buf.len() as u64;
                // A batch can be a few MiB (a large `batch_size`, long attribute values): keep the buffer
                // for the next batch, but not one much larger than a default batch needs.
                if self.buf.capacity() > 16 << 20 {
                    self.buf = Vec::new();
                }
                Ok(())
            }
            Err(e) => {
                self.encoder.rollback(resource);
                // Best effort: if even this fails, the reader stops at the torn block and reports it.
                let _ = self.file.set_len(self.len);
                Err(ExportError(format!("cannot write {}: {e}", self.path.display())))
            }
        }
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.file.sync_data().map_err(|e| ExportError(format!("cannot sync {}: {e}", self.path.display())))
    }
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time: sortable, and safe in file names on every OS.
fn utc_stamp(unix_secs: u64) -> String {
    let [year, month, day, h, m, s] = crate::clock::utc(unix_secs);
    format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Converter;
    use crate::collect::local::ThreadInfo;
    use crate::collect::ring::Run;
    use crate::events::emit::{BOOL, EVENT_SAMPLED, I64};
    use crate::events::level::Level;
    use crate::export::Chunk;
    use crate::trace::callsite::{CallSite, SpanKind};
    use crate::trace::record::{Extra, Record};
    use crate::trace::value::Value;
    use std::borrow::Cow;

    #[test]
    fn utc_stamp_matches_known_dates() {
        assert_eq!(super::utc_stamp(0), "19700101T000000Z");
        assert_eq!(super::utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(super::utc_stamp(1_795_618_425), "20261125T145345Z");
    }

    static SPAN: CallSite = CallSite::new("unit.span", SpanKind::Server, "unit", "unit.rs", 1);
    static EVENT: CallSite = CallSite::event("unit.event", Level::Warn, "unit", "unit.rs", 2, &["a", "b", "c"]);
    static LATER: CallSite = CallSite::event("unit.later", Level::Error, "unit", "unit.rs", 3, &["x"]);

    /// A batch of one span and, inside it, two events of `site` on thread `thread`.
    fn batch(service: &str, thread: u64, site: &'static CallSite, key: &'static str) -> Batch {
        let info = ThreadInfo { id: thread, name: "unit" };
        let (trace, span) = (7u128 << 64 | 9, 8 + thread);
        let span_record = Record {
            trace_id: trace,
            site: Record::site_word(&SPAN, 0),
            span_id: span,
            parent_id: 0,
            start: 1000,
            end: 2000,
            extra: None,
        };
        let extra = Extra {
            attributes: vec![(Cow::Borrowed(key), Value::from("text"))],
            message: Some(Cow::Borrowed("a message")),
            ..Extra::default()
        };
        let events = vec![
            Record {
                trace_id: trace,
                site: Record::site_word(site, I64 | BOOL << 2 | EVENT_SAMPLED),
                span_id: span,
                parent_id: -7i64 as u64,
                start: 1500,
                end: 1,
                extra: Some(Box::new(extra)),
            },
            Record {
                trace_id: trace,
                site: Record::site_word(site, EVENT_SAMPLED),
                span_id: span,
                parent_id: 0,
                start: 1600,
                end: 0,
                extra: None,
            },
        ];
        Batch {
            chunks: vec![Chunk { thread: info, run: Run::owned(vec![span_record]).unwrap(), index: 0 }],
            events: vec![Chunk { thread: info, run: Run::owned(events).unwrap(), index: 40 }],
            clock: Converter::from_parts(0, 1_000_000, 1.0),
            resource: std::sync::Arc::new(crate::resource::Resource::from_service_name(service).with_session(1)),
            len: 1,
            events_len: 2,
        }
    }

    #[test]
    fn a_failed_store_write_rolls_the_tables_back_and_leaves_the_file_as_it_was() {
        let dir = std::env::temp_dir().join(format!("telem-unit-store-rollback-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = Store::open(&dir).unwrap();
        store.export(&batch("first", 1, &EVENT, "c")).unwrap();
        let len = std::fs::metadata(store.path()).unwrap().len();
        assert_eq!(len, store.len);
        // A write that fails (a read-only handle): a new service, thread, call site and key are
        // forgotten again, so the next block defines them in the file.
        let read_only = File::open(store.path()).unwrap();
        let good = std::mem::replace(&mut store.file, read_only);
        assert!(store.export(&batch("second", 2, &LATER, "new.key")).is_err());
        assert_eq!(std::fs::metadata(store.path()).unwrap().len(), len);
        store.file = good;
        store.export(&batch("second", 2, &LATER, "new.key")).unwrap();
        let contents = super::super::read_file_all(store.path()).unwrap();
        assert_eq!((contents.spans.len(), contents.events.len()), (2, 4));
        let later = &contents.events[2];
        assert_eq!(
            (&*later.name, later.level, &*later.service, later.thread_id),
            ("unit.later", Level::Error, "second", 2)
        );
        assert_eq!(
            later.fields,
            [("x".into(), Value::I64(-7)), (String::new(), Value::Bool(true)), ("new.key".into(), Value::from("text"))]
        );
        assert_eq!(later.message.as_deref(), Some("a message"));
        assert_eq!((later.session_index, contents.events[3].session_index), (40, 41));
        assert_eq!((later.time_unix_ns, later.sampled), (1_001_500, true));
        let first = &contents.events[0];
        assert_eq!(
            first.fields,
            [("a".into(), Value::I64(-7)), ("b".into(), Value::Bool(true)), ("c".into(), Value::from("text"))]
        );
        assert_eq!(contents.events[1].fields, []);
        assert_eq!(contents.spans[0].events, contents.events[..2]);
        assert_eq!(contents.spans[1].events, contents.events[2..]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! The store exporter: one session file per process session, a file header, then one spans block per
//! exported batch, appended with one `write` each.

use super::format::{FILE_HEADER_LEN, MAGIC, VERSION};
use super::write::Encoder;
use crate::config::Config;
use crate::export::{Batch, ExportError, Exporter};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends spans in store format v2 to a session file `<dir>/<UTC start>-<pid>.telem`. Read it back
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
        let service = self.encoder.service();
        if let Err(why) = self.encoder.encode(batch, &mut self.buf) {
            self.encoder.rollback(service);
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
                self.encoder.rollback(service);
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
    #[test]
    fn utc_stamp_matches_known_dates() {
        assert_eq!(super::utc_stamp(0), "19700101T000000Z");
        assert_eq!(super::utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(super::utc_stamp(1_795_618_425), "20261125T145345Z");
    }
}

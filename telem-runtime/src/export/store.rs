//! The local store: each process session appends its spans, one JSON object per line (see `json.rs`
//! for the fields), to its own file `<dir>/<UTC start time>-<pid>.jsonl`. One file per session means no
//! locking between processes and no partial interleaving; later tools read a directory of sessions.

use super::{Batch, ExportError, Exporter};
use crate::config::Config;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends spans to a session file under the store directory.
pub struct Store {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

impl Store {
    /// Opens a new session file in `dir`, creating the directory if needed.
    pub fn open(dir: &Path) -> Result<Store, ExportError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ExportError(format!("cannot create store directory {}: {e}", dir.display())))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stamp = utc_stamp(now.as_secs());
        let mut n = 0;
        loop {
            let name = match n {
                0 => format!("{stamp}-{}.jsonl", std::process::id()),
                _ => format!("{stamp}-{}-{n}.jsonl", std::process::id()),
            };
            let path = dir.join(name);
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => return Ok(Store { path, file, buf: Vec::new() }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(ExportError(format!("cannot create store file {}: {e}", path.display()))),
            }
        }
    }

    /// The session file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn build(config: &Config) -> Result<Option<Box<dyn Exporter>>, ExportError> {
        if !config.store() {
            return Ok(None);
        }
        Ok(Some(Box::new(Store::open(config.store_dir())?)))
    }
}

impl Exporter for Store {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.buf.clear();
        for span in batch.spans() {
            super::json::write_span(&mut self.buf, &span, batch.service_name());
        }
        self.file.write_all(&self.buf).map_err(|e| ExportError(format!("cannot write {}: {e}", self.path.display())))
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.file.sync_data().map_err(|e| ExportError(format!("cannot sync {}: {e}", self.path.display())))
    }
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time: sortable, and safe in file names on every OS.
fn utc_stamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

inventory::submit! { super::ExporterRegistration::new("store", Store::build) }

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamp_matches_known_dates() {
        assert_eq!(super::utc_stamp(0), "19700101T000000Z");
        assert_eq!(super::utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(super::utc_stamp(1_795_618_425), "20261125T145345Z");
    }
}

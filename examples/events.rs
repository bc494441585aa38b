//! Events, errors and panics: what telem records besides spans.
//!
//! ```text
//! cargo run --example events
//! ```
//! records events inside and outside spans, an error with its chain, a panic caught at a boundary,
//! and then runs itself as a child process that dies of a panic inside nested spans: the child's
//! spans still reach the store (under `.telem/`, or `TELEM_STORE_DIR`), failed, each with an
//! `exception` event carrying the panic's message and location.

use std::fmt;

#[derive(Debug)]
struct ConfigError {
    path: &'static str,
    source: std::num::ParseIntError,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}", self.path)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[telem::span(fields(key = key))]
fn lookup(key: &str) -> Option<u32> {
    telem::info!("cache.miss", key = key, hit = false; "no entry for {}", key);
    None
}

#[telem::span]
fn load_config() -> Result<u32, ConfigError> {
    let n = "forty-two".parse::<u32>().map_err(|source| ConfigError { path: "app.toml", source });
    if let Err(e) = &n {
        telem::record_error(e); // the span fails with the whole chain in its `exception` event
    }
    n
}

#[telem::span]
fn risky(n: u32) -> u32 {
    if n > 2 {
        panic!("n is too large: {n}");
    }
    n
}

#[telem::span]
fn outer() {
    inner();
}

#[telem::span]
fn inner() {
    panic!("the child gives up");
}

fn child() {
    let _telem = telem::Builder::new().exporter("console", false).init();
    telem::warn!("child.started", pid = std::process::id() as i64);
    outer(); // panics on the main thread: the spans end failed and the guard drains them
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("child") {
        return child();
    }
    let telem = telem::init();
    telem::info!("app.started", version = "1.0", workers = 4);
    lookup("user:123");
    let _ = load_config();
    // A panic caught at a boundary: recorded on the spans it went through, and the program goes on.
    let caught = std::panic::catch_unwind(|| risky(3));
    telem::warn!("task.failed", caught = caught.is_err());
    drop(telem);

    let exe = std::env::current_exe().expect("the example's path");
    let status = std::process::Command::new(exe).arg("child").status().expect("cannot start the child");
    eprintln!("child exited with {status}; its spans are in the store");
}

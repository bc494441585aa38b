//! The `log` crate bridge (feature `log`): every `log::info!` … record becomes a telem event, with the
//! current span's ids, so a codebase adopts telem without rewriting its logging.
//!
//! Mapping: the event's name is the record's target (by default its module path), its module the
//! record's `module_path`, file and line the record's; the message is the formatted arguments; the
//! record's key-values (`log::info!(user = 7; "…")`) are fields, typed when they are integers, floats,
//! booleans or strings, else their `Display`. Levels map one to one (`log` has no critical). A call
//! site is made once per (target, level, module, file, line) and kept, like a manual span's.

use crate::collect::local::{self, running};
use crate::events::emit::emit_with;
use crate::events::filter::Filter;
use crate::events::level::Level;
use crate::trace::callsite::CallSite;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

struct Bridge;

static BRIDGE: Bridge = Bridge;
/// Whether the bridge is the `log` crate's logger (set once per process).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Why [`install`] could not make telem the `log` crate's logger.
#[derive(Debug)]
pub struct LoggerAlreadySet;

impl std::fmt::Display for LoggerAlreadySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("another `log` logger is already set")
    }
}

impl std::error::Error for LoggerAlreadySet {}

/// Makes telem the `log` crate's logger (`telem::init()` does this when the `log` feature is on),
/// with the level filter of the running configuration. Records reach telem only while it runs.
pub fn install() -> Result<(), LoggerAlreadySet> {
    if !INSTALLED.load(Ordering::Acquire) {
        log::set_logger(&BRIDGE).map_err(|_| LoggerAlreadySet)?;
        INSTALLED.store(true, Ordering::Release);
    }
    Ok(())
}

/// At `init`: installs the bridge (saying once when another logger is set) and sets `log`'s own
/// maximum level from `filter`, so records below every directive cost `log` one comparison.
pub(crate) fn init(filter: &Filter) {
    static SAID: AtomicBool = AtomicBool::new(false);
    match install() {
        Ok(()) => log::set_max_level(filter.max_level().map_or(log::LevelFilter::Off, to_log)),
        Err(e) if !SAID.swap(true, Ordering::Relaxed) => {
            eprintln!("[telem] {e}; `log` records do not reach telem (set no logger, or call telem's first)")
        }
        Err(_) => {}
    }
}

fn to_log(level: Level) -> log::LevelFilter {
    match level {
        Level::Trace => log::LevelFilter::Trace,
        Level::Debug => log::LevelFilter::Debug,
        Level::Info => log::LevelFilter::Info,
        Level::Warn => log::LevelFilter::Warn,
        Level::Error | Level::Critical => log::LevelFilter::Error,
    }
}

fn from_log(level: log::Level) -> Level {
    match level {
        log::Level::Trace => Level::Trace,
        log::Level::Debug => Level::Debug,
        log::Level::Info => Level::Info,
        log::Level::Warn => Level::Warn,
        log::Level::Error => Level::Error,
    }
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        running() && !local::busy() && metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let site = site(record);
        if !site.filter.enabled(site.level, || site.name) {
            return;
        }
        let mut fields = Fields(Vec::new());
        let _ = record.key_values().visit(&mut fields);
        let args = record.args();
        let message = match args.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(args.to_string()),
        };
        emit_with(site, fields.0, Some(message), None);
    }

    fn flush(&self) {}
}

struct Fields(Vec<(Cow<'static, str>, Value)>);

impl<'kvs> log::kv::VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: log::kv::Key<'kvs>, value: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> {
        let value = if let Some(v) = value.to_bool() {
            Value::Bool(v)
        } else if let Some(v) = value.to_i64() {
            Value::I64(v)
        } else if let Some(v) = value.to_u64() {
            Value::U64(v)
        } else if let Some(v) = value.to_f64() {
            Value::F64(v)
        } else {
            Value::Str(Cow::Owned(value.to_string()))
        };
        self.0.push((Cow::Owned(key.as_str().to_owned()), value));
        Ok(())
    }
}

type Key = (usize, usize, Level, usize, u32);

/// The call site of a record: cached per thread by the addresses of its target and file, made once
/// per process for each distinct (target, level, module, file, line).
fn site(record: &log::Record<'_>) -> &'static CallSite {
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<Key, &'static CallSite>> = std::cell::RefCell::new(HashMap::new());
    }
    let level = from_log(record.level());
    let target = record.target();
    let file = record.file().unwrap_or("");
    let key = (target.as_ptr() as usize, target.len(), level, file.as_ptr() as usize, record.line().unwrap_or(0));
    let make = || {
        let _busy = local::Busy::enter(|| ());
        global_site(record, level)
    };
    CACHE.try_with(|c| *c.borrow_mut().entry(key).or_insert_with(make)).unwrap_or_else(|_| make())
}

fn global_site(record: &log::Record<'_>, level: Level) -> &'static CallSite {
    type Global = HashMap<(&'static str, Level, &'static str, &'static str, u32), &'static CallSite>;
    static SITES: Mutex<Option<Global>> = Mutex::new(None);
    let target = intern(record.target());
    let module = record.module_path_static().unwrap_or_else(|| intern(record.module_path().unwrap_or("")));
    let file = record.file_static().unwrap_or_else(|| intern(record.file().unwrap_or("")));
    let line = record.line().unwrap_or(0);
    let mut sites = SITES.lock().unwrap_or_else(|e| e.into_inner());
    let site: &'static CallSite = sites
        .get_or_insert_with(HashMap::new)
        .entry((target, level, module, file, line))
        .or_insert_with(|| Box::leak(Box::new(CallSite::event(target, level, module, file, line, &[]))));
    site
}

/// A string kept for the life of the process, once per distinct value.
fn intern(s: &str) -> &'static str {
    static STRINGS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut strings = STRINGS.lock().unwrap_or_else(|e| e.into_inner());
    let strings = strings.get_or_insert_with(HashSet::new);
    match strings.get(s) {
        Some(s) => s,
        None => {
            let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
            strings.insert(leaked);
            leaked
        }
    }
}

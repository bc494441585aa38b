//! Panics and the fatal path: the panic hook `init` installs, what each span learns of a panic, and
//! the synchronous drain before a process dies, like a crash reporter.
//!
//! When the drain happens (decided here, documented in the README):
//!
//! - **`panic = "abort"`**: every panic ends the process. The hook records an `exception` event on
//!   each span the panicking thread has open in its own scope (`#[span]` functions, steps, entered
//!   spans — kept in a per-thread list only in abort builds), ends them with status error, then
//!   shuts telem down (session end, final drain, exporters flushed), bounded by
//!   `Builder::fatal_timeout` (default 5 s), and only then lets the previous hook print.
//! - **unwinding, on the main thread**: the panic may end the process (or be caught further up). The
//!   hook flushes what is recorded so far, bounded by the same timeout; the spans the unwind passes
//!   then end failed, each with its `exception` event, and the `Telem` guard in `main` drains them
//!   when the unwind drops it.
//! - **unwinding, on any other thread**: no drain — the panic is the thread's (a `catch_unwind`, a
//!   tokio task) and the application goes on. The spans the unwind passes end failed with an
//!   `exception` event each, and are exported as usual.
//!
//! The previous hook (the default one prints the message) always runs afterwards.

use crate::collect::local::{self, running};
#[cfg(panic = "abort")]
use crate::events::emit::Ids;
use crate::events::exception::Exception;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

/// `Builder::fatal_timeout` of the running configuration, in milliseconds.
pub(crate) static FATAL_TIMEOUT_MS: AtomicU64 = AtomicU64::new(5_000);

thread_local! {
    /// The last panic of this thread as the hook saw it: the unwind's spans read its location and
    /// backtrace (the payload they catch carries only the message).
    static LAST: RefCell<Option<Seen>> = const { RefCell::new(None) };
}

#[derive(Clone)]
struct Seen {
    message: String,
    location: Option<String>,
    stacktrace: Option<String>,
}

/// Installs the hook, once per process, in front of whatever hook is set now.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            hook(info);
            previous(info);
        }));
    });
}

fn hook(info: &std::panic::PanicHookInfo<'_>) {
    if !running() || local::busy() {
        return;
    }
    let message = local::panic_text(info.payload()).into_owned();
    let location = info.location().map(|l| l.to_string());
    let backtrace = std::backtrace::Backtrace::capture();
    let stacktrace = (backtrace.status() == std::backtrace::BacktraceStatus::Captured).then(|| backtrace.to_string());
    let seen = Seen { message, location, stacktrace };
    let _ = LAST.try_with(|last| last.try_borrow_mut().map(|mut l| *l = Some(seen.clone())));
    let thread = std::thread::current();
    // telem's own threads catch their panics (an exporter's is counted as its batch); waiting for
    // them here would wait for the panicking thread itself.
    if thread.name().is_some_and(|n| n.starts_with("telem-")) {
        return;
    }
    let timeout = Duration::from_millis(FATAL_TIMEOUT_MS.load(Ordering::Relaxed));
    if cfg!(panic = "abort") {
        open::fail_all(&seen);
        crate::lifecycle::shutdown(timeout);
    } else if thread.name() == Some("main") {
        crate::lifecycle::flush_for(timeout);
    }
}

/// The `exception` event a span ending by an unwind records: the message from the payload (or the
/// hook), and the location and backtrace the hook saw for this thread's last panic.
pub(crate) fn panic_exception(message: Option<Cow<'static, str>>) -> Exception {
    let seen = LAST.try_with(|last| last.try_borrow().ok().and_then(|l| l.clone())).ok().flatten();
    let message = match (message, &seen) {
        (Some(m), _) => m.into_owned(),
        (None, Some(seen)) => seen.message.clone(),
        (None, None) => "panicked".to_owned(),
    };
    let (location, stacktrace) = match seen {
        Some(seen) if seen.message == message => (seen.location, seen.stacktrace),
        _ => (None, None),
    };
    Exception { type_name: Cow::Borrowed("panic"), message, causes: Vec::new(), stacktrace, location, escaped: true }
}

/// The spans a thread has open in its own scope, kept only where a panic aborts: nothing unwinds
/// there, so the hook ends them itself.
pub(crate) mod open {
    #[cfg(panic = "abort")]
    use super::*;
    use crate::trace::record::Record;

    #[cfg(panic = "abort")]
    thread_local! {
        static OPEN: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
    }

    /// A span that became current where it started (`start_running(_, true)`).
    #[inline(always)]
    pub(crate) fn opened(_span: impl FnOnce() -> Record) {
        #[cfg(panic = "abort")]
        let _ = OPEN.try_with(|open| open.try_borrow_mut().map(|mut o| o.push(_span())));
    }

    /// A span ended (on whichever thread: only this thread's list is looked at).
    #[inline(always)]
    pub(crate) fn closed(_id: u64) {
        #[cfg(panic = "abort")]
        let _ = OPEN.try_with(|open| {
            open.try_borrow_mut().map(|mut o| {
                if let Some(i) = o.iter().rposition(|r| r.span_id == _id) {
                    o.remove(i);
                }
            })
        });
    }

    /// Ends every span this thread has open, innermost first, failed by the panic `seen`.
    #[cfg(panic = "abort")]
    pub(super) fn fail_all(seen: &Seen) {
        let spans =
            OPEN.try_with(|open| open.try_borrow_mut().map(|mut o| std::mem::take(&mut *o)).unwrap_or_default());
        for mut record in spans.unwrap_or_default().into_iter().rev() {
            let ids = Ids { trace: record.trace_id, span: record.span_id, sampled: true };
            let mut exception = panic_exception(Some(Cow::Owned(seen.message.clone())));
            exception.location = seen.location.clone();
            exception.stacktrace = seen.stacktrace.clone();
            exception.record(Some(ids));
            record.site = (record.site & !crate::trace::record::STATUS_BITS) | crate::trace::record::ERROR;
            record.extra = Some(Box::new(crate::trace::record::Extra {
                status_message: Some(Cow::Owned(seen.message.clone())),
                ..Default::default()
            }));
            record.end = crate::clock::now();
            local::hot().push(move || record);
        }
    }

    #[cfg(not(panic = "abort"))]
    pub(super) fn fail_all(_seen: &super::Seen) {}
}

//! Capture helpers for code boundaries (a task, a request handler, `main`): a panic or an `Err` that
//! crosses them is recorded as an `exception` event and handed back unchanged.

use crate::events::exception::Exception;
use crate::events::fatal;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// What a captured closure or future returns: a `Result` whose `Err` is recorded, or `()`.
pub trait Outcome {
    /// The failure to record, if this outcome is one: the error's type name and message.
    #[doc(hidden)]
    fn failure(&self) -> Option<(&'static str, String)>;
}

impl<T, E: fmt::Display> Outcome for Result<T, E> {
    fn failure(&self) -> Option<(&'static str, String)> {
        self.as_ref().err().map(|e| (std::any::type_name::<E>(), e.to_string()))
    }
}

impl Outcome for () {
    fn failure(&self) -> Option<(&'static str, String)> {
        None
    }
}

/// Runs `f`; a panic is recorded as an `exception` event (on the current span, if any) and the
/// unwind goes on, an `Err` is recorded and returned. For the error's `source()` chain, call
/// [`record_error`](crate::record_error) yourself.
///
/// ```
/// # let _telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
/// let parsed: Result<u32, _> = telem::capture(|| "x".parse::<u32>());
/// assert!(parsed.is_err()); // returned unchanged, and recorded
/// ```
pub fn capture<R: Outcome>(f: impl FnOnce() -> R) -> R {
    settle(catch_unwind(AssertUnwindSafe(f)), false)
}

/// [`capture`], and when it failed, the fatal path: the session ends and everything recorded is
/// drained synchronously (bounded by `Builder::fatal_timeout`) before the panic resumes or the
/// error is returned — for the outermost boundary of a process about to die.
pub fn capture_fatal<R: Outcome>(f: impl FnOnce() -> R) -> R {
    settle(catch_unwind(AssertUnwindSafe(f)), true)
}

/// [`capture`] for a future: each poll runs under `catch_unwind`, and its output is checked.
pub fn capture_future<F: Future>(future: F) -> Captured<F>
where
    F::Output: Outcome,
{
    Captured { future, fatal: false }
}

/// [`capture_fatal`] for a future.
pub fn capture_future_fatal<F: Future>(future: F) -> Captured<F>
where
    F::Output: Outcome,
{
    Captured { future, fatal: true }
}

/// The future [`capture_future`] returns.
pub struct Captured<F> {
    future: F,
    fatal: bool,
}

impl<F: Future> Future for Captured<F>
where
    F::Output: Outcome,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        let fatal = this.fatal;
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(settle(Ok(out), fatal)),
            Err(payload) => Poll::Ready(settle(Err(payload), fatal)),
        }
    }
}

fn settle<R: Outcome>(result: std::thread::Result<R>, fatal: bool) -> R {
    let failure = match &result {
        Ok(out) => out.failure().map(|(type_name, message)| {
            let mut exception = Exception::new(&message, None);
            exception.type_name = std::borrow::Cow::Borrowed(type_name);
            exception
        }),
        Err(payload) => Some(fatal::panic_exception(Some(crate::collect::local::panic_text(&**payload)))),
    };
    if let Some(exception) = failure {
        if crate::collect::local::running() {
            crate::current_span().set_status(exception.status());
            exception.record(None);
            if fatal {
                let timeout = Duration::from_millis(fatal::FATAL_TIMEOUT_MS.load(std::sync::atomic::Ordering::Relaxed));
                crate::lifecycle::shutdown(timeout);
            }
        }
    }
    match result {
        Ok(out) => out,
        Err(payload) => resume_unwind(payload),
    }
}

//! The steps of a `#[flow]`: each `#[step]` statement becomes a child span of the flow, current while
//! the statement runs.
//!
//! A step's code stays inline in the flow's body (no closure, no async block), so `?`, `return`,
//! `break` and `let` bindings mean what they meant. In an `async` flow a step may `.await`: each
//! awaited future is wrapped in [`StepAwait`], which makes the step current on whichever thread polls
//! it and steps back out when the future is pending, so the worker thread never keeps a suspended
//! step as its context.

use crate::collect::local::{hot, running, Current};
use crate::trace::callsite::CallSite;
use crate::trace::record::Status;
use crate::trace::span::OpenSpan;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An open step. `Send`, so an async flow holding one across an `.await` stays `Send`.
#[doc(hidden)]
pub struct StepGuard {
    open: OpenSpan,
    /// What was current when the step started (the flow's root or the enclosing step).
    before: Current,
    /// Whether the step is current on the thread running the flow's code (false while an awaited
    /// future is pending).
    entered: bool,
}

impl StepGuard {
    /// Starts the step under the current span and makes it current.
    #[inline(always)]
    pub fn enter(site: &'static CallSite) -> StepGuard {
        if !running() {
            return StepGuard { open: OpenSpan::INACTIVE, before: Current::NONE, entered: false };
        }
        let open = OpenSpan::start(site, true);
        let before = open.parent_current();
        StepGuard { open, before, entered: true }
    }

    /// A step inside a loop: `iteration` counts the loop's passes from 0.
    #[inline]
    pub fn enter_iteration(site: &'static CallSite, iteration: u64) -> StepGuard {
        let mut step = StepGuard::enter(site);
        step.open.set_attribute(Cow::Borrowed("step.iteration"), Value::U64(iteration));
        step
    }

    /// Whether attributes would be kept (`#[step(fields(…))]` skips computing them otherwise).
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.open.is_recording()
    }

    /// `#[step(fields(…))]`: adds an attribute.
    pub fn attribute(&mut self, key: &'static str, value: Value) {
        self.open.set_attribute(Cow::Borrowed(key), value);
    }

    /// The step failed (its `?` is propagating `status`'s error).
    #[cold]
    pub fn fail(&mut self, status: Status) {
        self.open.set_status(status);
    }

    /// Makes the step current again, on the thread about to poll one of its futures.
    fn resume(&mut self) {
        if self.open.is_active() && !self.entered {
            self.open.make_current();
            self.entered = true;
        }
    }

    /// Steps out while one of its futures is pending: the thread gets back what was current around it.
    fn suspend(&mut self) {
        if self.entered {
            self.open.leave(self.before);
            self.entered = false;
        }
    }

    /// Whether the step is what is current on this thread.
    #[inline(always)]
    fn is_current(&self) -> bool {
        let h = hot();
        h.span.get() == self.open.id && h.trace.get() == self.open.trace
    }
}

impl Drop for StepGuard {
    /// Inline: a step that ends where it ran, without a panic, ends like a `#[span]` (its parent's
    /// trace and flags are its own: only the current span id goes back). Anything else out of line.
    #[inline(always)]
    fn drop(&mut self) {
        if !self.open.is_active() {
            return;
        }
        if self.entered && self.is_current() && !std::thread::panicking() {
            return self.open.end_in_scope();
        }
        self.end_otherwise();
    }
}

impl StepGuard {
    #[cold]
    #[inline(never)]
    fn end_otherwise(&mut self) {
        if self.entered {
            if self.is_current() {
                if std::thread::panicking() {
                    self.open.mark_panicked();
                }
                self.open.leave(self.before);
            } else {
                // Entered but not current: the step's code was running when a panic unwound out of an
                // async flow's poll, and the flow is dropped later, elsewhere. This thread's context is
                // not the step's to restore.
                self.open.mark_panicked();
            }
        }
        self.open.finish();
    }
}

/// A future awaited inside a step of an async flow: the step is current while it is polled.
#[doc(hidden)]
pub struct StepAwait<'a, F> {
    future: F,
    step: &'a mut StepGuard,
}

impl<'a, F: Future> StepAwait<'a, F> {
    /// The future first, so its own expression may use the step before the step is borrowed here.
    #[inline]
    pub fn new(future: impl std::future::IntoFuture<IntoFuture = F>, step: &'a mut StepGuard) -> Self {
        StepAwait { future: future.into_future(), step }
    }
}

impl<F: Future> Future for StepAwait<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        this.step.resume();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                this.step.suspend();
                Poll::Pending
            }
            Ok(ready) => ready,
            Err(payload) => {
                this.step.open.mark_panicked_by(&*payload);
                this.step.suspend();
                std::panic::resume_unwind(payload)
            }
        }
    }
}

/// The operand of a `?` inside a step, inspected before `?` sees it: see [`CheckDisplay`].
#[doc(hidden)]
pub struct Checked<'a, T>(pub &'a T);

/// A failing `Result` whose error is `Display`: the step's status message is the error's.
/// (Implemented for `&Checked`, so method lookup on `&&Checked` prefers it over [`CheckAny`].)
#[doc(hidden)]
pub trait CheckDisplay {
    fn __telem_check(&self, step: &mut StepGuard);
}

impl<T, E: fmt::Display> CheckDisplay for &Checked<'_, Result<T, E>> {
    #[inline]
    fn __telem_check(&self, step: &mut StepGuard) {
        if let Err(e) = self.0 {
            step.fail(Status::error(e));
        }
    }
}

/// Any other operand of `?` that can fail (`Result` with an error that is not `Display`, `Option`).
#[doc(hidden)]
pub trait CheckAny {
    fn __telem_check(&self, step: &mut StepGuard);
}

impl<T: Outcome> CheckAny for Checked<'_, T> {
    #[inline]
    fn __telem_check(&self, step: &mut StepGuard) {
        if let Some(message) = self.0.failure() {
            step.fail(Status::Error(Cow::Borrowed(message)));
        }
    }
}

/// What `?` can propagate, and how the failure is named when nothing better is known.
#[doc(hidden)]
pub trait Outcome {
    fn failure(&self) -> Option<&'static str>;
}

impl<T, E> Outcome for Result<T, E> {
    fn failure(&self) -> Option<&'static str> {
        self.is_err().then_some("error")
    }
}

impl<T> Outcome for Option<T> {
    fn failure(&self) -> Option<&'static str> {
        self.is_none().then_some("none")
    }
}

impl<B, C> Outcome for std::ops::ControlFlow<B, C> {
    fn failure(&self) -> Option<&'static str> {
        self.is_break().then_some("break")
    }
}

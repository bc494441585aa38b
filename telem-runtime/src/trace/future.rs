//! Spans over futures: the span is current only while the future is being polled, on whichever thread
//! polls it, so children created after an `.await` on another worker still point at it.

use crate::trace::callsite::CallSite;
use crate::trace::span::OpenSpan;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future inside a span. `#[span]` wraps `async fn` bodies, `impl Future` results and
/// `Box::pin(async …)` results in one.
///
/// The span starts when the `Instrumented` is made (its parent is what was current then) and ends when
/// the future completes or is dropped. A panic while polling marks it failed.
#[doc(hidden)]
pub struct Instrumented<F> {
    future: F,
    span: OpenSpan,
}

/// A span started for a future that is not made yet: `#[span]` records arguments on it first, then
/// hands it the future.
#[doc(hidden)]
pub struct FutureSpan(OpenSpan);

impl FutureSpan {
    /// Starts the span under the current context (not current itself until polled).
    #[inline(always)]
    pub fn start(site: &'static CallSite) -> FutureSpan {
        FutureSpan(OpenSpan::start(site, false))
    }

    /// Whether attributes would be kept.
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        self.0.is_recording()
    }

    /// Adds an attribute.
    pub fn attribute(&mut self, key: &'static str, value: Value) {
        self.0.set_attribute(Cow::Borrowed(key), value);
    }

    /// `links(…)`: links the span to `to` (nothing for `None`).
    pub fn link(&mut self, to: impl crate::IntoParent) {
        if let Some(to) = to.into_parent() {
            self.0.add_link(&to, Vec::new());
        }
    }

    /// Puts `future` inside the span.
    #[inline(always)]
    pub fn instrument<F: Future>(mut self, future: F) -> Instrumented<F> {
        Instrumented { future, span: std::mem::replace(&mut self.0, OpenSpan::INACTIVE) }
    }
}

/// A span never handed a future (an early `return` past the instrumented tail) still ends and is
/// exported, covering the call.
impl Drop for FutureSpan {
    fn drop(&mut self) {
        self.0.finish();
    }
}

impl<F: Future> Instrumented<F> {
    /// Starts a span named by `site` around `future`.
    #[inline(always)]
    pub fn new(site: &'static CallSite, future: F) -> Self {
        FutureSpan::start(site).instrument(future)
    }
}

/// Restores the thread's context after a poll, also when the poll panics.
struct Polling<'a> {
    span: &'a mut OpenSpan,
    before: crate::collect::local::Current,
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.span.mark_panicked();
        }
        self.span.leave(self.before);
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and `span` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if !this.span.is_active() {
            return future.poll(cx);
        }
        let before = this.span.make_current();
        let polling = Polling { span: &mut this.span, before };
        // Caught here so the span carries this panic's own message; free when nothing panics.
        let poll = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                polling.span.mark_panicked_by(&*payload);
                drop(polling);
                std::panic::resume_unwind(payload)
            }
        };
        drop(polling);
        if poll.is_ready() {
            this.span.finish();
        }
        poll
    }
}

impl<F> Drop for Instrumented<F> {
    fn drop(&mut self) {
        // Completed spans were finished in `poll`; this ends one dropped before completion.
        self.span.finish();
    }
}

/// A future that runs every poll under a context: made by [`with_current_context`] and
/// [`FutureExt::with_context`].
pub struct WithContext<F> {
    future: F,
    /// `None`: nothing to attach; `Some(None)`: no context (spans it starts begin new traces).
    parent: Option<Option<crate::Context>>,
}

/// Binds `future` to the context current now, so spans it starts when polled elsewhere (a spawned task,
/// another worker thread) are children of the current span.
///
/// An `async fn` span starts at the future's first poll and takes its parent from what is current then;
/// a future handed to `tokio::spawn` is first polled on a worker where nothing is current. Bind it:
///
/// ```ignore
/// tokio::spawn(telem::with_current_context(handle(request)));
/// ```
pub fn with_current_context<F: Future>(future: F) -> WithContext<F> {
    WithContext { future, parent: crate::Context::current().map(Some) }
}

/// `.with_context(ctx)` on any future: every poll runs under `ctx`.
pub trait FutureExt: Future + Sized {
    /// Runs every poll of this future under `parent` (a [`Context`](crate::Context), a reference to
    /// one, or an `Option` of either: `None` runs it outside any trace, so its spans start new ones).
    ///
    /// ```ignore
    /// use telem::FutureExt as _;
    /// let ctx = telem::propagation::extract(&headers);
    /// tokio::spawn(handle(request).with_context(ctx));
    /// ```
    fn with_context(self, parent: impl IntoParent) -> WithContext<Self> {
        WithContext { future: self, parent: Some(parent.into_parent()) }
    }
}

impl<F: Future> FutureExt for F {}

/// What can name the parent of a span: a [`Context`](crate::Context), a reference to one, or an
/// `Option` of either, where `None` means a new trace.
pub trait IntoParent {
    /// The parent context, or `None` for a new trace.
    fn into_parent(self) -> Option<crate::Context>;
}

impl IntoParent for crate::Context {
    fn into_parent(self) -> Option<crate::Context> {
        Some(self)
    }
}

impl IntoParent for &crate::Context {
    fn into_parent(self) -> Option<crate::Context> {
        Some(self.clone())
    }
}

impl IntoParent for Option<crate::Context> {
    fn into_parent(self) -> Option<crate::Context> {
        self
    }
}

impl IntoParent for Option<&crate::Context> {
    fn into_parent(self) -> Option<crate::Context> {
        self.cloned()
    }
}

impl IntoParent for &Option<crate::Context> {
    fn into_parent(self) -> Option<crate::Context> {
        self.clone()
    }
}

/// The `parent = …` of `#[span]` and `#[flow]`, evaluated once.
#[doc(hidden)]
pub struct Parent(Option<crate::Context>);

impl Parent {
    pub fn new(parent: impl IntoParent) -> Parent {
        Parent(parent.into_parent())
    }

    /// Makes the parent current on this thread (or, for `None`, no context at all) until the guard drops.
    pub fn enter(&self) -> crate::ContextGuard {
        enter(&self.0)
    }

    /// Runs every poll of `future` under the parent.
    pub fn instrument<F: Future>(self, future: F) -> WithContext<F> {
        WithContext { future, parent: Some(self.0) }
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned and never moved out.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match &this.parent {
            Some(parent) => {
                let _entered = enter(parent);
                future.poll(cx)
            }
            None => future.poll(cx),
        }
    }
}

/// Makes `parent` current on this thread, or for `None` no context at all, until the guard drops.
fn enter(parent: &Option<crate::Context>) -> crate::ContextGuard {
    match parent {
        Some(ctx) => ctx.attach(),
        None => crate::trace::context::detach(),
    }
}

//! The context that links spans: which trace, which parent, whether it is sampled, and what travels
//! with it (`tracestate`, baggage). Thread-local while current; carried across threads by value and
//! across processes as W3C headers (see [`crate::propagation`]).

use crate::collect::local::{hot, Current, HOT};
use crate::ids::{SpanId, TraceId};
use crate::propagation::{Baggage, TraceState};
use crate::trace::sampler;
use std::cell::RefCell;
use std::sync::Arc;

/// W3C trace flag: the trace is recorded.
pub(crate) const SAMPLED: u8 = 0x01;
/// W3C Level 2 trace flag: the trace id's low 56 bits are random.
pub(crate) const RANDOM: u8 = 0x02;

/// A position in a trace: the trace id, the span that new spans should hang under, the W3C flags,
/// and the `tracestate` and baggage that travel with it.
///
/// Cheap to clone when `tracestate` and baggage are empty (the usual case): four words and two empty
/// vectors.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Context {
    /// The trace.
    pub trace_id: TraceId,
    /// The parent span for spans started under this context.
    pub span_id: SpanId,
    /// The W3C `sampled` flag: spans under this context are recorded.
    pub sampled: bool,
    /// The W3C Level 2 `random` flag: the trace id's low 56 bits are random.
    pub random: bool,
    /// Vendor data from the W3C `tracestate` header, passed on unchanged unless updated.
    pub trace_state: TraceState,
    /// W3C Baggage: application key/value pairs that travel with the trace.
    pub baggage: Baggage,
    /// The span named lives in another process (the context was extracted from headers or made with
    /// [`Context::new`]), rather than taken from a span of this one ([`Context::current`],
    /// `Span::context`). Spans started directly under a remote context are the first of their trace in
    /// this process, which is what the keep-errors rule waits for before it decides a trace.
    pub is_remote: bool,
}

/// What the thread's current context carries beyond ids and flags, for the trace it belongs to.
struct Carry {
    trace: u128,
    trace_state: TraceState,
    baggage: Baggage,
}

thread_local! {
    /// Set while a context with `tracestate` or baggage is attached. Spans do not touch it: they are
    /// in the same trace, so `Context::current()` under them still finds it; a new trace started
    /// meanwhile (another id) does not.
    static CARRY: RefCell<Option<Arc<Carry>>> = const { RefCell::new(None) };
}

impl Context {
    /// A sampled, remote context naming `span_id` in `trace_id`, with no `tracestate` or baggage.
    pub fn new(trace_id: TraceId, span_id: SpanId) -> Context {
        Context {
            is_remote: true,
            ..Context::from_current(Current { trace: trace_id.0, span: span_id.0, flags: SAMPLED })
        }
    }

    pub(crate) fn from_current(current: Current) -> Context {
        Context {
            trace_id: TraceId(current.trace),
            span_id: SpanId(current.span),
            sampled: current.flags & SAMPLED != 0,
            random: current.flags & RANDOM != 0,
            trace_state: TraceState::default(),
            baggage: Baggage::default(),
            is_remote: false,
        }
    }

    /// The ids and flags spans started under this context take (the sampler has its say on the
    /// sampled flag of a context from elsewhere).
    pub(crate) fn as_parent(&self) -> Current {
        Current { trace: self.trace_id.0, span: self.span_id.0, flags: sampler::remote_flags(self) }
    }

    /// The context current on this thread, if a span is current (or a context is attached): what a
    /// span started now would hang under, with its flags, `tracestate` and baggage.
    pub fn current() -> Option<Context> {
        let h = hot();
        let current = Current { trace: h.trace.get(), span: h.span.get(), flags: h.flags.get() };
        if current.span == 0 {
            return None;
        }
        let mut context = Context::from_current(current);
        // Under an attached remote context, before any span of this thread: still that remote span.
        context.is_remote = current.span == h.remote.get();
        let _ = CARRY.try_with(|carry| {
            if let Some(carry) = carry.borrow().as_ref().filter(|c| c.trace == current.trace) {
                context.trace_state = carry.trace_state.clone();
                context.baggage = carry.baggage.clone();
            }
        });
        Some(context)
    }

    /// Whether spans under this context are recorded.
    pub fn is_sampled(&self) -> bool {
        self.sampled
    }

    /// Makes this context current on this thread until the guard drops: spans started meanwhile become
    /// its children. This is how a trace received from another process or thread is continued.
    ///
    /// While only the attached context is current (no span of this thread started under it yet),
    /// [`current_span()`](crate::current_span) names no span: the span the context names lives
    /// elsewhere, and what would be set on it could never reach it.
    ///
    /// The guard must be dropped on the thread that attached the context (it is not `Send`).
    pub fn attach(&self) -> ContextGuard {
        let h = hot();
        let before = h.replace_current(self.as_parent());
        let attached_before = h.attached.replace(self.span_id.0);
        let remote_before = h.remote.replace(if self.is_remote { self.span_id.0 } else { 0 });
        let carry_before = (!self.trace_state.is_empty() || !self.baggage.is_empty()).then(|| {
            let carry = Arc::new(Carry {
                trace: self.trace_id.0,
                trace_state: self.trace_state.clone(),
                baggage: self.baggage.clone(),
            });
            CARRY.try_with(|c| c.replace(Some(carry))).ok().flatten()
        });
        ContextGuard { before, attached_before, remote_before, carry_before, _not_send: std::marker::PhantomData }
    }

    /// Runs `f` with this context current (see [`Context::attach`]).
    ///
    /// ```
    /// # let telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
    /// let ctx = telem::in_span("request", |_| telem::Context::current()).unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| ctx.in_scope(|| telem::in_span("worker", |_| ())));
    /// });
    /// ```
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _attached = self.attach();
        f()
    }

    /// `f` as a closure that runs with this context current, wherever it is called: hand it to
    /// another thread, a pool or a callback, and the spans it starts stay in this trace.
    ///
    /// ```
    /// # let telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
    /// let job = telem::in_span("request", |_| {
    ///     telem::Context::current().unwrap().wrap(|| telem::in_span("job", |_| 42))
    /// });
    /// assert_eq!(std::thread::spawn(job).join().unwrap(), 42);
    /// ```
    pub fn wrap<R>(self, f: impl FnOnce() -> R) -> impl FnOnce() -> R {
        move || self.in_scope(f)
    }
}

/// Restores the previous context when dropped, on the thread that attached it.
#[must_use = "the context is detached when the guard drops"]
pub struct ContextGuard {
    before: Current,
    attached_before: u64,
    remote_before: u64,
    /// `Some` when this guard replaced the thread's carried `tracestate` and baggage.
    carry_before: Option<Option<Arc<Carry>>>,
    /// The context is this thread's: a guard dropped on another thread would restore the wrong one.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let _ = HOT.try_with(|h| {
            h.replace_current(self.before);
            h.attached.set(self.attached_before);
            h.remote.set(self.remote_before);
        });
        if let Some(before) = self.carry_before.take() {
            let _ = CARRY.try_with(|c| c.replace(before));
        }
    }
}

/// Makes no context current on this thread until the guard drops: spans started meanwhile begin new
/// traces.
pub(crate) fn detach() -> ContextGuard {
    let h = hot();
    let before = h.replace_current(Current::NONE);
    let attached_before = h.attached.replace(0);
    let remote_before = h.remote.replace(0);
    let carry_before = Some(CARRY.try_with(|c| c.replace(None)).ok().flatten());
    ContextGuard { before, attached_before, remote_before, carry_before, _not_send: std::marker::PhantomData }
}

/// Like [`std::thread::spawn`], with the current context carried to the new thread: spans it starts
/// are children of the span current here.
///
/// ```
/// # let telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
/// telem::in_span("request", |_| {
///     telem::spawn(|| telem::in_span("background", |_| ())).join().unwrap();
/// });
/// ```
pub fn spawn<F, R>(f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Context::current() {
        Some(ctx) => std::thread::spawn(ctx.wrap(f)),
        None => std::thread::spawn(f),
    }
}

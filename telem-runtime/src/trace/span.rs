//! Open spans: the one mechanism behind `#[span]` guards, instrumented futures and manual spans.

use crate::clock;
use crate::collect::local::{self, hot, running, Current, Pending};
use crate::events::emit::Ids;
use crate::events::exception::Exception;
use crate::events::fatal;
use crate::trace::callsite::{self, CallSite, SpanKind};
use crate::trace::context::{Context, SAMPLED};
use crate::trace::record::{Extra, Link, Record, Status, ERROR, LOCAL_ROOT, PANICKED, STATUS_BITS, UNSAMPLED};
use crate::trace::sampler;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;
use std::mem::MaybeUninit;
use std::panic::Location;

/// A span that has started and not yet ended. `site == 0` means inactive: the runtime was not running
/// when it started, and every operation on it is a no-op.
pub(crate) struct OpenSpan {
    /// Call-site pointer with the status code in its low bits (see `Record::site_word`).
    site: usize,
    pub trace: u128,
    pub id: u64,
    pub parent: u64,
    start: u64,
    /// Owned `Box<Extra>` or null. A raw pointer, so `OpenSpan` has no drop glue and the guards that
    /// hold one inline down to a test of `site` when telem is off; every owner ends the span (`finish`),
    /// which hands the box on to the record.
    extra: *mut Extra,
    /// W3C trace flags (`SAMPLED`, `RANDOM`) in the low byte, passed on to children, and
    /// `NOT_RECORDED`. A whole word, so the struct has no padding: copies of it (guards are built and
    /// moved on the hot path) stay a few vector moves instead of a byte-by-byte shuffle.
    flags: u64,
}

/// `OpenSpan::flags` bit: the span writes no record (unsampled, keep-errors off). It still carries its
/// context — children and outgoing headers say sampled = 0 — and ignores the rest.
const NOT_RECORDED: u64 = 1 << 8;

// SAFETY: `extra` is uniquely owned (like the `Box` it came from) and `Extra` is `Send + Sync`.
unsafe impl Send for OpenSpan {}
unsafe impl Sync for OpenSpan {}

impl OpenSpan {
    pub const INACTIVE: OpenSpan =
        OpenSpan { site: 0, trace: 0, id: 0, parent: 0, start: 0, extra: std::ptr::null_mut(), flags: NOT_RECORDED };

    /// A span starting now with id `id` under `parent`, whose flags it takes. `root` says, only when
    /// the span is unsampled, whether it is the first of its trace in this process.
    #[inline(always)]
    fn opened(site: &'static CallSite, id: u64, parent: Current, root: impl FnOnce() -> bool) -> OpenSpan {
        let (mut site_word, mut flags) = (Record::site_word(site, 0), parent.flags as u64);
        if parent.flags & SAMPLED == 0 {
            // The sampler said no: the span only carries its context, unless the keep-errors rule
            // wants its record (marked unsampled, and a local root when it is the first span of the
            // trace in this process).
            if sampler::KEEP_ERRORS.load(std::sync::atomic::Ordering::Relaxed) {
                site_word |= UNSAMPLED | if root() { LOCAL_ROOT } else { 0 };
            } else {
                flags |= NOT_RECORDED;
            }
        }
        // An unrecorded span is never timed: no clock read on the path the sampler said no to.
        let start = if flags & NOT_RECORDED == 0 { clock::now() } else { 0 };
        OpenSpan {
            site: site_word,
            trace: parent.trace,
            id,
            parent: parent.span,
            start,
            extra: std::ptr::null_mut(),
            flags,
        }
    }

    /// Starts a span under the thread's current context and makes it current when `enter` is true.
    #[inline(always)]
    pub fn start(site: &'static CallSite, enter: bool) -> OpenSpan {
        if !running() {
            return OpenSpan::INACTIVE;
        }
        OpenSpan::start_running(site, enter)
    }

    /// [`OpenSpan::start`] for a caller that has just seen telem running.
    #[inline(always)]
    pub fn start_running(site: &'static CallSite, enter: bool) -> OpenSpan {
        let h = hot();
        let parent = h.span.get();
        let id = h.span_id();
        // A child shares its parent's trace and flags, already current: only the span id changes.
        let (trace, flags) = if parent == 0 {
            let trace = h.trace_id(id);
            let flags = sampler::root_flags(trace);
            if enter {
                h.trace.set(trace);
                h.flags.set(flags);
            }
            (trace, flags)
        } else {
            (h.trace.get(), h.flags.get())
        };
        if enter {
            h.span.set(id);
        }
        let open = OpenSpan::opened(site, id, Current { trace, span: parent, flags }, || {
            parent == 0 || parent == h.remote.get()
        });
        if enter && open.is_recording() {
            // Only where a panic aborts (else a no-op): the fatal hook ends the spans open in scope.
            fatal::open::opened(|| Record {
                trace_id: open.trace,
                site: open.site,
                span_id: open.id,
                parent_id: open.parent,
                start: open.start,
                end: 0,
                extra: None,
            });
        }
        open
    }

    /// Starts a span under an explicit parent context (`None`: a new trace). Does not make it current.
    pub fn start_under(site: &'static CallSite, parent: Option<&Context>) -> OpenSpan {
        if !running() {
            return OpenSpan::INACTIVE;
        }
        let h = hot();
        let id = h.span_id();
        let (parent, root) = match parent {
            Some(ctx) => (ctx.as_parent(), ctx.is_remote),
            None => {
                let trace = h.trace_id(id);
                (Current { trace, span: 0, flags: sampler::root_flags(trace) }, true)
            }
        };
        OpenSpan::opened(site, id, parent, || root)
    }

    /// A new trace root with the given trace id (an imported span's), sampled by that id.
    pub fn start_root(site: &'static CallSite, trace: u128) -> OpenSpan {
        let id = hot().span_id();
        OpenSpan::opened(site, id, Current { trace, span: 0, flags: sampler::root_flags(trace) }, || true)
    }

    /// Start and end measured by the caller, in Unix nanoseconds: exported instead of the ticks.
    pub fn set_unix_times(&mut self, start: u64, end: u64) {
        if self.is_recording() {
            self.extra().unix_times = Some((start, end));
        }
    }

    /// The span's extra part, made on first use.
    fn extra(&mut self) -> &mut Extra {
        if self.extra.is_null() {
            self.extra = Box::into_raw(Box::default());
        }
        // SAFETY: non-null `extra` came from `Box::into_raw` and is owned by this span.
        unsafe { &mut *self.extra }
    }

    #[inline(always)]
    fn take_extra(&mut self) -> Option<Box<Extra>> {
        let extra = std::mem::replace(&mut self.extra, std::ptr::null_mut());
        // SAFETY: as above; the pointer is cleared, so the box has one owner.
        (!extra.is_null()).then(|| unsafe { Box::from_raw(extra) })
    }

    #[inline(always)]
    pub fn is_active(&self) -> bool {
        self.site != 0
    }

    /// Whether what is set on the span is kept (it will be a record).
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        self.site != 0 && self.flags & NOT_RECORDED == 0
    }

    /// Makes this span the thread's current one; returns what was current before.
    #[inline(always)]
    pub fn make_current(&self) -> Current {
        hot().replace_current(self.as_current())
    }

    /// This span as the context of spans started under it.
    #[inline(always)]
    fn as_current(&self) -> Current {
        Current { trace: self.trace, span: self.id, flags: self.flags as u8 }
    }

    /// What is current around this span when it was started under the thread's current context.
    #[inline(always)]
    pub fn parent_current(&self) -> Current {
        Current { trace: self.trace, span: self.parent, flags: self.flags as u8 }
    }

    /// Leaves the span's scope on this thread: restores `before` as current and takes in whatever
    /// `current_span()` set on this span meanwhile.
    #[inline(always)]
    pub fn leave(&mut self, before: Current) {
        hot().replace_current(before);
        if local::any_pending() {
            (self.site, self.extra) = OpenSpan::apply_pending(self.id, self.site, self.extra, self.flags);
        }
    }

    /// [`end_in_scope`](Self::end_in_scope) for a span that `current_span()` set something on.
    #[cold]
    #[inline(never)]
    fn finish_pending(mut span: OpenSpan) {
        (span.site, span.extra) = OpenSpan::apply_pending(span.id, span.site, span.extra, span.flags);
        span.finish();
    }

    /// Applies what `current_span()` set on span `id` meanwhile. Takes and returns the parts it may
    /// change by value: a span whose address is never taken stays in registers on the hot path.
    #[cold]
    #[inline(never)]
    fn apply_pending(id: u64, site: usize, extra: *mut Extra, flags: u64) -> (usize, *mut Extra) {
        let mut span = OpenSpan { site, trace: 0, id, parent: 0, start: 0, extra, flags };
        local::take_pending(id, |item| span.apply(item));
        (span.site, span.extra)
    }

    fn apply(&mut self, item: Pending) {
        match item {
            Pending::Attribute(key, value) => self.set_attribute(key, value),
            Pending::Status(status) => self.set_status(status),
        }
    }

    /// Sets an attribute. A key set again keeps its place and takes the new value (one key, the last
    /// value wins, as in OpenTelemetry).
    pub fn set_attribute(&mut self, key: Cow<'static, str>, value: Value) {
        if self.is_recording() {
            let attributes = &mut self.extra().attributes;
            match attributes.iter_mut().find(|(k, _)| *k == key) {
                Some((_, old)) => *old = value,
                None => attributes.push((key, value)),
            }
        }
    }

    pub fn set_name(&mut self, name: Cow<'static, str>) {
        if self.is_recording() {
            self.extra().name = Some(name);
        }
    }

    /// Adds an OpenTelemetry link to `to` (a span this one relates to, in this trace or another).
    pub fn add_link(&mut self, to: &Context, attributes: Vec<(Cow<'static, str>, Value)>) {
        if self.is_recording() {
            self.extra().links.push(Link {
                trace_id: to.trace_id,
                span_id: to.span_id,
                sampled: to.sampled,
                attributes,
            });
        }
    }

    pub fn set_status(&mut self, status: Status) {
        if !self.is_recording() {
            return;
        }
        self.site = (self.site & !STATUS_BITS) | status.code();
        if let Status::Error(message) = status {
            self.extra().status_message = Some(message);
        }
    }

    /// Fails the span with `exception`'s message and records the `exception` event on it.
    #[cold]
    pub fn record_exception(&mut self, exception: Exception) {
        if self.is_recording() {
            self.set_status(exception.status());
            let ids = Ids { trace: self.trace, span: self.id, sampled: self.flags as u8 & SAMPLED != 0 };
            exception.record(Some(ids));
        }
    }

    /// Marks the span as failed by a panic unwinding through it, unless it already knows the panic's
    /// message (caught at the span's own boundary, see [`SpanGuard::run`]). A span that only sees the
    /// unwind (a manual span dropped by it) cannot tell which panic it is: it says "panicked" rather
    /// than guess from an earlier, possibly unrelated one.
    #[cold]
    pub fn mark_panicked(&mut self) {
        // Status bits first, no allocation: an allocator that records spans may be what is unwinding
        // (then it is busy, and no `exception` event is made either).
        if self.is_recording() && self.site & STATUS_BITS < ERROR {
            self.site = (self.site & !STATUS_BITS) | PANICKED;
            if !local::busy() {
                self.panic_event(fatal::panic_exception(None));
            }
        }
    }

    /// Marks the span as failed by the panic whose payload is `payload`, with an `exception` event.
    #[cold]
    pub fn mark_panicked_by(&mut self, payload: &(dyn std::any::Any + Send)) {
        let message = local::panic_text(payload);
        self.set_status(Status::Error(message.clone()));
        self.panic_event(fatal::panic_exception(Some(message)));
    }

    /// The `exception` event of a panic on this span (its status is already set).
    fn panic_event(&self, exception: Exception) {
        if self.is_recording() {
            exception.record(Some(Ids { trace: self.trace, span: self.id, sampled: self.flags as u8 & SAMPLED != 0 }));
        }
    }

    /// Ends a span that was made current where it started (`start_running(_, true)`): restores what
    /// was current before it, then ends it.
    ///
    /// Only the current span id is put back: the trace and flags current now are this span's, which
    /// are its parent's too — or, for a root, are left behind under span id 0, which means "nothing
    /// current" to every reader (`Context::current`, the next span's start). Whatever changed them
    /// inside the span's scope (an attached context, a step, a future) has put them back on leaving.
    #[inline(always)]
    pub fn end_in_scope(&mut self) {
        if self.is_recording() {
            hot().span.set(self.parent);
            if local::any_pending() {
                // Out of line to the end: no value of the span is live across a call on this path.
                return OpenSpan::finish_pending(std::mem::replace(self, OpenSpan::INACTIVE));
            }
            self.finish();
        } else {
            // By value, so the span's address is not taken on the way.
            OpenSpan::leave_unrecorded(self.parent, self.id);
            self.site = 0;
        }
    }

    /// Leaves the scope of a span that writes no record (the sampler said no). Out of line, so the
    /// recorded path keeps its own shape.
    #[inline(never)]
    fn leave_unrecorded(parent: u64, id: u64) {
        hot().span.set(parent);
        // What `current_span()` set on it meanwhile has nowhere to go.
        local::take_pending(id, drop);
    }

    /// Ends the span now and hands it to this thread's ring.
    #[inline(always)]
    pub fn finish(&mut self) {
        if !self.is_recording() {
            self.site = 0;
            return;
        }
        let end = clock::now();
        // No check of the global state: a span that ends after the final drain goes into its ring like
        // any other, where the stopped runtime counts it as dropped ("ended after shutdown", the same
        // path as one that saw telem running an instant before that drain) and the next `init` purges it.
        let site = std::mem::replace(&mut self.site, 0);
        fatal::open::closed(self.id);
        let extra = self.take_extra();
        // Copies, not references, in the closure: a span's address taken anywhere keeps the whole
        // guard in memory, where registers would do.
        let (trace_id, span_id, parent_id, start) = (self.trace, self.id, self.parent, self.start);
        hot().push(move || Record { trace_id, site, span_id, parent_id, start, end, extra });
    }

    pub fn context(&self) -> Option<Context> {
        self.is_active().then(|| Context::from_current(self.as_current()))
    }
}

/// The guard `#[span]` puts at the top of an instrumented function: the span is current from here until
/// the guard drops at the end of the function, and a panic unwinding through it marks it failed.
///
/// The open span is left uninitialised when telem is not recording, so that path writes one flag and
/// its drop is one test.
#[doc(hidden)]
pub struct SpanGuard {
    active: bool,
    open: MaybeUninit<OpenSpan>,
}

impl SpanGuard {
    #[inline(always)]
    pub fn enter(site: &'static CallSite) -> SpanGuard {
        if !running() {
            return SpanGuard { active: false, open: MaybeUninit::uninit() };
        }
        SpanGuard { active: true, open: MaybeUninit::new(OpenSpan::start_running(site, true)) }
    }

    /// The open span, when recording.
    #[inline(always)]
    fn open(&mut self) -> Option<&mut OpenSpan> {
        // SAFETY: `open` is initialised exactly when `active` is set.
        self.active.then(|| unsafe { self.open.assume_init_mut() })
    }

    /// Runs the instrumented function's body. A panic inside marks the span failed with the panic's
    /// own message (read from its payload, so it is right whichever hook runs and also for
    /// `resume_unwind`), then goes on unwinding. Free on the path without a panic.
    #[inline(always)]
    pub fn run<R>(&mut self, body: impl FnOnce() -> R) -> R {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(value) => value,
            Err(payload) => {
                self.panicked(&*payload);
                std::panic::resume_unwind(payload)
            }
        }
    }

    /// The whole of a `#[span]` function that records nothing besides the span (no fields, `err`,
    /// `ret` or `parent`): when telem is not recording, the body runs inline behind one test; when it
    /// is, in a function of its own that starts, runs and ends the span, so the not-recording path
    /// never pays for that function's frame and the span's fields stay in its registers.
    #[inline(always)]
    pub fn run_span<R>(site: &'static CallSite, body: impl FnOnce() -> R) -> R {
        if !running() {
            return body();
        }
        SpanGuard::run_recording(site, body)
    }

    /// No guard with a destructor here, only the open span (which has none) and an explicit unwind
    /// path: with nothing to drop if a call unwinds, the span never has to be written to memory.
    #[inline(never)]
    fn run_recording<R>(site: &'static CallSite, body: impl FnOnce() -> R) -> R {
        let mut open = OpenSpan::start_running(site, true);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(value) => {
                open.end_in_scope();
                value
            }
            Err(payload) => SpanGuard::unwound(open, payload),
        }
    }

    /// The body of a [`run_span`](Self::run_span) panicked: the span ends failed with the panic's
    /// message, and the unwind goes on.
    #[cold]
    #[inline(never)]
    fn unwound(mut open: OpenSpan, payload: Box<dyn std::any::Any + Send>) -> ! {
        open.mark_panicked_by(&*payload);
        open.end_in_scope();
        std::panic::resume_unwind(payload)
    }

    #[cold]
    #[inline(never)]
    fn panicked(&mut self, payload: &(dyn std::any::Any + Send)) {
        if let Some(open) = self.open() {
            open.mark_panicked_by(payload);
        }
    }

    /// Whether attributes would be kept (lets the macro skip formatting when not recording).
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        // SAFETY: `open` is initialised exactly when `active` is set.
        self.active && unsafe { self.open.assume_init_ref() }.is_recording()
    }

    pub fn attribute(&mut self, key: &'static str, value: Value) {
        if let Some(open) = self.open() {
            open.set_attribute(Cow::Borrowed(key), value);
        }
    }

    /// `links(…)`: links the span to `to` (nothing for `None`).
    pub fn link(&mut self, to: impl crate::IntoParent) {
        if let (Some(open), Some(to)) = (self.open(), to.into_parent()) {
            open.add_link(&to, Vec::new());
        }
    }

    /// `err`: the function returned `Err(error)`; `sources` is its `source()` when it is a
    /// `std::error::Error` (the macro finds out by autoref).
    pub fn error<E: fmt::Display + ?Sized>(&mut self, error: &E, sources: Option<&(dyn std::error::Error + 'static)>) {
        if let Some(open) = self.open() {
            open.record_exception(Exception::new(error, sources));
        }
    }

    /// Ends the span where the instrumented function returns normally (the macro's last statement):
    /// inline, so the guard's fields stay in registers from start to end. No unwind is in flight here
    /// (a panic in the body leaves through `run`), so unlike the drop this does not ask whether the
    /// thread is panicking: a span in a destructor that runs during an unwind ends as it returned.
    #[inline(always)]
    pub fn close(&mut self) {
        if self.active {
            // SAFETY: `open` is initialised exactly when `active` is set.
            unsafe { self.open.assume_init_mut() }.end_in_scope();
            self.active = false;
        }
    }

    /// Leaves the span's scope and ends it, on a path the macro's `close` did not take (an unwind,
    /// a `#[track_caller]` body). Out of line: the guard's drop inlines as one test.
    #[inline(never)]
    fn end(&mut self) {
        let Some(open) = self.open() else { return };
        if std::thread::panicking() {
            open.mark_panicked();
        }
        open.end_in_scope();
    }
}

impl Drop for SpanGuard {
    #[inline(always)]
    fn drop(&mut self) {
        if self.active {
            self.end();
        }
    }
}

/// A span started and ended by hand, for what an attribute cannot annotate: closures, callbacks, names
/// known only at run time, work that starts on one thread and ends on another.
///
/// A `Span` is a child of whatever was current when it started, but is not itself current: use
/// [`Span::enter`] (or [`in_span`]) to make spans started inside it its children. It ends when dropped
/// or on [`Span::end`], on whichever thread that happens.
///
/// ```
/// let mut span = telem::Span::start("upload");
/// span.set_attribute("bytes", 1024);
/// std::thread::spawn(move || span.end()).join().unwrap();
/// ```
#[must_use = "a span ends when dropped"]
pub struct Span(OpenSpan);

impl Span {
    /// Starts a span of kind `internal` under the current context.
    #[track_caller]
    pub fn start(name: impl Into<Cow<'static, str>>) -> Span {
        Span::builder(name).start()
    }

    /// A builder for a span with a kind, attributes or an explicit parent.
    #[track_caller]
    pub fn builder(name: impl Into<Cow<'static, str>>) -> SpanBuilder {
        SpanBuilder {
            name: name.into(),
            kind: SpanKind::Internal,
            attributes: Vec::new(),
            parent: None,
            links: Vec::new(),
            at: Location::caller(),
        }
    }

    /// Adds an attribute.
    pub fn set_attribute(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        self.0.set_attribute(key.into(), value.into());
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: Status) {
        self.0.set_status(status);
    }

    /// Marks the span failed with the error's `Display` and records an `exception` event on it
    /// (see [`record_error`](crate::record_error), which also records the error's `source()` chain).
    pub fn record_error<E: fmt::Display + ?Sized>(&mut self, error: &E) {
        if self.0.is_recording() {
            self.0.record_exception(Exception::new(error, None));
        }
    }

    /// Whether this span is recorded (false when telem is not running).
    pub fn is_recording(&self) -> bool {
        self.0.is_recording()
    }

    /// The span's context, to pass to another thread or process as a parent.
    pub fn context(&self) -> Option<Context> {
        self.0.context()
    }

    /// Makes the span current on this thread until the returned guard drops.
    pub fn enter(&mut self) -> Entered<'_> {
        let before = if self.0.is_active() { self.0.make_current() } else { Current::NONE };
        Entered { span: self, before, _not_send: std::marker::PhantomData }
    }

    /// Ends the span now.
    pub fn end(mut self) {
        self.0.finish();
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if self.0.is_active() {
            if std::thread::panicking() {
                self.0.mark_panicked();
            }
            self.0.finish();
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span").field("context", &self.context()).finish()
    }
}

/// Attributes as a span or link keeps them.
type Attributes = Vec<(Cow<'static, str>, Value)>;

/// Configures a [`Span`] before it starts.
#[must_use = "call .start() to start the span"]
pub struct SpanBuilder {
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<(Cow<'static, str>, Value)>,
    parent: Option<Option<Context>>,
    links: Vec<(Context, Attributes)>,
    at: &'static Location<'static>,
}

impl SpanBuilder {
    /// The span kind (default `internal`).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// Starts under `parent` instead of the current context: a [`Context`], a reference to one, or an
    /// `Option` of either (`None` starts a new trace).
    pub fn parent(mut self, parent: impl crate::IntoParent) -> Self {
        self.parent = Some(parent.into_parent());
        self
    }

    /// Adds an OpenTelemetry link to `to` with `attributes` (for example a batch job linked to each
    /// request it serves).
    ///
    /// ```
    /// # let telem = telem::Builder::new().exporter("store", false).exporter("console", false).init();
    /// let request = telem::in_span("request", |_| telem::Context::current()).unwrap();
    /// let batch = telem::Span::builder("batch").link(&request, [("reason", "queued")]).start();
    /// # drop(batch);
    /// ```
    pub fn link<K, V>(mut self, to: &Context, attributes: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<Cow<'static, str>>,
        V: Into<Value>,
    {
        let attributes = attributes.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self.links.push((to.clone(), attributes));
        self
    }

    /// Starts the span.
    pub fn start(self) -> Span {
        Span(self.open(None))
    }

    /// Opens the span; `trace` is the trace id of a new root (`telem::record` of an imported span),
    /// used only when the span has no parent.
    pub(crate) fn open(self, trace: Option<u128>) -> OpenSpan {
        if !running() {
            return OpenSpan::INACTIVE;
        }
        // Interning a call site locks and allocates; a span started meanwhile on this thread (by an
        // allocator that records spans) is counted as dropped instead of interning again.
        if local::busy() {
            local::LOST[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return OpenSpan::INACTIVE;
        }
        let (site, dynamic_name) = match self.name {
            Cow::Borrowed(name) => (*local::Busy::enter(|| callsite::intern(name, self.kind, self.at)), None),
            Cow::Owned(name) => (*local::Busy::enter(|| callsite::dynamic(self.kind, self.at)), Some(name)),
        };
        let mut open = match (self.parent, trace) {
            (Some(Some(parent)), _) => OpenSpan::start_under(site, Some(&parent)),
            (Some(None), Some(trace)) => OpenSpan::start_root(site, trace),
            (None, Some(trace)) if hot().span.get() == 0 => OpenSpan::start_root(site, trace),
            (Some(parent), _) => OpenSpan::start_under(site, parent.as_ref()),
            (None, _) => OpenSpan::start(site, false),
        };
        if let Some(name) = dynamic_name {
            open.set_name(Cow::Owned(name));
        }
        for (key, value) in self.attributes {
            open.set_attribute(key, value);
        }
        for (to, attributes) in self.links {
            open.add_link(&to, attributes);
        }
        open
    }
}

/// A [`Span`] made current on this thread; dereferences to the span. Dropped on the same thread (it
/// is not `Send`): it restores that thread's previous context.
pub struct Entered<'a> {
    span: &'a mut Span,
    before: Current,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl std::ops::Deref for Entered<'_> {
    type Target = Span;
    fn deref(&self) -> &Span {
        self.span
    }
}

impl std::ops::DerefMut for Entered<'_> {
    fn deref_mut(&mut self) -> &mut Span {
        self.span
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if self.span.0.is_active() {
            self.span.0.leave(self.before);
        }
    }
}

/// Runs `f` inside a new span named `name`, current for the duration of `f`. A panic in `f` marks the
/// span failed and goes on unwinding.
///
/// ```
/// let total = telem::in_span("sum", |span| {
///     let total: u64 = (1..=10).sum();
///     span.set_attribute("total", total);
///     total
/// });
/// assert_eq!(total, 55);
/// ```
#[track_caller]
pub fn in_span<R>(name: impl Into<Cow<'static, str>>, f: impl FnOnce(&mut Span) -> R) -> R {
    let mut span = Span::start(name);
    let mut entered = span.enter();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut entered))) {
        Ok(value) => value,
        Err(payload) => {
            entered.0.mark_panicked_by(&*payload);
            drop(entered);
            std::panic::resume_unwind(payload)
        }
    }
}

/// A handle on the span that is current on this thread (the innermost `#[span]` function running, an
/// entered [`Span`], or an instrumented future being polled). What is set through it reaches that span
/// when its scope ends. With no current span, every call is a no-op and [`CurrentSpan::is_recording`]
/// says false — also under a context attached with [`Context::attach`] before any span of this thread
/// started in it: the span such a context names lives in another thread or process, out of reach.
#[derive(Clone, Copy, Debug)]
pub struct CurrentSpan {
    id: u64,
}

/// The span that is current on this thread.
///
/// ```
/// #[telem::span]
/// fn load(path: &str) -> usize {
///     let bytes = path.len();
///     telem::current_span().set_attribute("bytes", bytes);
///     bytes
/// }
/// # load("x");
/// ```
pub fn current_span() -> CurrentSpan {
    let h = hot();
    let id = if running() { h.span.get() } else { 0 };
    // Under an attached context with no span of this thread started in it, no span is current here.
    CurrentSpan { id: if id == h.attached.get() { 0 } else { id } }
}

impl CurrentSpan {
    /// Whether there is a current span being recorded.
    pub fn is_recording(&self) -> bool {
        self.id != 0
    }

    /// Adds an attribute to the current span.
    pub fn set_attribute(&self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        if self.id != 0 {
            local::push_pending(self.id, Pending::Attribute(key.into(), value.into()));
        }
    }

    /// Sets the current span's status.
    pub fn set_status(&self, status: Status) {
        if self.id != 0 {
            local::push_pending(self.id, Pending::Status(status));
        }
    }

    /// Marks the current span failed with the error's `Display` and records an `exception` event on
    /// it (see [`record_error`](crate::record_error), which also records the error's `source()` chain).
    pub fn record_error<E: fmt::Display + ?Sized>(&self, error: &E) {
        self.record_exception(Exception::new(error, None));
    }

    /// The `exception` event and error status of `#[span(err)]` on a future.
    #[doc(hidden)]
    pub fn error<E: fmt::Display + ?Sized>(&self, error: &E, sources: Option<&(dyn std::error::Error + 'static)>) {
        self.record_exception(Exception::new(error, sources));
    }

    fn record_exception(&self, exception: Exception) {
        if self.id != 0 {
            self.set_status(exception.status());
            exception.record(None);
        }
    }
}

//! `#[counted]`: what the macro expands to.
//!
//! Each counted function has one `static CountedSite` holding its atomics (calls, and for `Result`
//! functions ok and error; the latency histogram and the in-flight gauge when asked for), and submits
//! it to `inventory`, so its series are registered — at zero — before the first call, the first time
//! anything reads the registry. A call is a [`CountedGuard`]: `enter` (the in-flight gauge, the start
//! tick) and `finish` (one relaxed add, the histogram), or its drop on an unwind, which counts the call as
//! an error for a `Result` function.

use super::cell::{CounterCell, HistogramCell, UpDownCell};
use super::family::{family, Cell, Descriptor, Kind, Labels};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The name `#[counted]` gives its calls counter unless told otherwise (`name = "…"`).
pub const DEFAULT_NAME: &str = "function.calls";

/// The latency buckets (seconds) of `#[counted(duration)]`: the OpenTelemetry semantic conventions'
/// advice for request durations.
pub const DURATION_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/// One counted function. Built by `#[counted]`; not a stable API.
#[doc(hidden)]
pub struct CountedSite {
    /// The calls counter's name; the histogram is `<name>.duration`, the gauge `<name>.concurrent`.
    pub name: &'static str,
    pub duration_name: &'static str,
    pub concurrent_name: &'static str,
    pub function: &'static str,
    pub module: &'static str,
    pub labels: &'static [(&'static str, &'static str)],
    /// Whether the function returns a `Result` (calls are then labelled `result="ok"|"error"`).
    pub result: bool,
    /// Calls (ok, or all for a function without `Result`), and errors.
    pub calls: [CounterCell; 2],
    pub duration: Option<&'static HistogramCell>,
    pub concurrent: Option<&'static UpDownCell>,
}

impl CountedSite {
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        duration_name: &'static str,
        concurrent_name: &'static str,
        function: &'static str,
        module: &'static str,
        labels: &'static [(&'static str, &'static str)],
        result: bool,
        duration: Option<&'static HistogramCell>,
        concurrent: Option<&'static UpDownCell>,
    ) -> Self {
        CountedSite {
            name,
            duration_name,
            concurrent_name,
            function,
            module,
            labels,
            result,
            calls: [CounterCell::new(), CounterCell::new()],
            duration,
            concurrent,
        }
    }

    fn labels(&self, result: Option<&'static str>) -> Labels {
        let mut labels: Vec<(Cow<'static, str>, Cow<'static, str>)> = vec![
            (Cow::Borrowed("function"), Cow::Borrowed(self.function)),
            (Cow::Borrowed("module"), Cow::Borrowed(self.module)),
        ];
        if let Some(result) = result {
            labels.push((Cow::Borrowed("result"), Cow::Borrowed(result)));
        }
        labels.extend(self.labels.iter().map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))));
        labels.into_boxed_slice()
    }

    /// Adds this site's series to their families.
    fn register(&'static self) {
        let describe = |name, kind, unit, description, bounds| Descriptor { name, kind, unit, description, bounds };
        let calls = describe(self.name, Kind::Counter, "", "Calls of instrumented functions.", &[]);
        match family(&calls) {
            Ok(f) if self.result => {
                f.add_static(self.labels(Some("ok")), Cell::Counter(&self.calls[0]));
                f.add_static(self.labels(Some("error")), Cell::Counter(&self.calls[1]));
            }
            Ok(f) => f.add_static(self.labels(None), Cell::Counter(&self.calls[0])),
            Err(_) => conflict(self.name),
        }
        if let Some(h) = self.duration {
            let d = describe(
                self.duration_name,
                Kind::Histogram,
                "s",
                "Duration of instrumented functions.",
                DURATION_BUCKETS,
            );
            match family(&d) {
                Ok(f) => f.add_static(self.labels(None), Cell::Histogram(h)),
                Err(_) => conflict(self.duration_name),
            }
        }
        if let Some(c) = self.concurrent {
            let d = describe(
                self.concurrent_name,
                Kind::UpDownCounter,
                "",
                "Calls of instrumented functions in progress.",
                &[],
            );
            match family(&d) {
                Ok(f) => f.add_static(self.labels(None), Cell::UpDown(c)),
                Err(_) => conflict(self.concurrent_name),
            }
        }
    }
}

fn conflict(name: &str) {
    eprintln!("[telem] metric `{name}` of #[counted] is used by a metric of another kind: this function's series are not exported");
}

/// Submitted to `inventory` by each counted function.
#[doc(hidden)]
pub struct Counted(pub &'static CountedSite);

inventory::collect!(Counted);

/// Registers every counted function's series, once.
pub(crate) fn register_all() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for counted in inventory::iter::<Counted> {
            counted.0.register();
        }
    });
}

/// One call of a counted function. Not a stable API.
#[doc(hidden)]
pub struct CountedGuard {
    site: &'static CountedSite,
    start: u64,
    /// The body runs inline (`#[track_caller]`): the drop ends every call, an unwind is `panicking()`.
    inline: bool,
}

impl CountedGuard {
    /// The call starts: in flight, and its start tick when its duration is measured.
    #[inline(always)]
    pub fn enter(site: &'static CountedSite) -> CountedGuard {
        Self::start(site, false)
    }

    /// For a body that stays inline: the guard's drop counts the call (an error only if unwinding).
    #[inline(always)]
    pub fn enter_inline(site: &'static CountedSite) -> CountedGuard {
        Self::start(site, true)
    }

    #[inline(always)]
    fn start(site: &'static CountedSite, inline: bool) -> CountedGuard {
        if let Some(c) = site.concurrent {
            c.add(1);
        }
        let start = if site.duration.is_some() { crate::clock::now() } else { 0 };
        CountedGuard { site, start, inline }
    }

    /// The call returned; `error` when it returned `Err`.
    #[inline(always)]
    pub fn finish(self, error: bool) {
        let this = std::mem::ManuallyDrop::new(self);
        this.count(error);
    }

    #[inline(always)]
    fn count(&self, error: bool) {
        if crate::collect::local::ENABLED {
            self.site.calls[error as usize].add(1);
        }
        if let Some(h) = self.site.duration {
            let ticks = crate::clock::now().saturating_sub(self.start);
            h.record(ticks as f64 * crate::clock::seconds_per_tick());
        }
        if let Some(c) = self.site.concurrent {
            c.add(-1);
        }
    }
}

impl Drop for CountedGuard {
    /// An unwind (or a future dropped before it finished): an error for a `Result` function.
    fn drop(&mut self) {
        self.count(self.site.result && (!self.inline || std::thread::panicking()));
    }
}

/// The future of a counted function that returns one (`-> impl Future`, a boxed future): counts when
/// it completes. Not a stable API.
#[doc(hidden)]
pub struct CountedFuture<F, E> {
    future: F,
    site: &'static CountedSite,
    guard: Option<CountedGuard>,
    is_error: E,
}

impl<F: Future, E: Fn(&F::Output) -> bool> CountedFuture<F, E> {
    #[doc(hidden)]
    pub fn new(site: &'static CountedSite, future: F, is_error: E) -> Self {
        CountedFuture { future, site, guard: None, is_error }
    }
}

impl<F: Future, E: Fn(&F::Output) -> bool> Future for CountedFuture<F, E> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is never moved out of `self` (structural pinning); the other fields are
        // not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if this.guard.is_none() {
            this.guard = Some(CountedGuard::enter(this.site));
        }
        match future.poll(cx) {
            Poll::Ready(out) => {
                if let Some(guard) = this.guard.take() {
                    guard.finish((this.is_error)(&out));
                }
                Poll::Ready(out)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

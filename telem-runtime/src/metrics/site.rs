//! The call site of a metric macro and the handles it gives out.
//!
//! `telem::counter!("api.requests", endpoint = "/chat")` (every label value a literal) makes one
//! `static MetricSite`, resolves its series on first use and keeps a pointer to the series' cell: an
//! update is then one acquire load of that pointer and one relaxed atomic operation. With any value
//! that is not a literal, the site keeps its family and looks the series up on each update
//! ([`MetricSite::with_values`]): the values are written into a per-thread buffer (no allocation once
//! the series exists) and found in a read-locked shard of the family.

use super::cell::{CounterCell, GaugeCell, HistogramCell, UpDownCell};
use super::family::{family, Cell, Descriptor, Family, Kind, Lookup};
use std::cell::RefCell;
use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicPtr, Ordering::*};

const ENABLED: bool = crate::collect::local::ENABLED;

/// The storage of one kind of instrument.
pub trait Instrument: Sync + 'static {
    #[doc(hidden)]
    const KIND: Kind;
    #[doc(hidden)]
    fn make(bounds: &'static [f64]) -> &'static Self;
    #[doc(hidden)]
    fn wrap(cell: &'static Self) -> Cell;
    #[doc(hidden)]
    fn of(cell: Cell) -> Option<&'static Self>;
}

macro_rules! instrument {
    ($ty:ty, $kind:ident, $variant:ident, |$bounds:ident| $make:expr) => {
        impl Instrument for $ty {
            const KIND: Kind = Kind::$kind;
            fn make($bounds: &'static [f64]) -> &'static Self {
                $make
            }
            fn wrap(cell: &'static Self) -> Cell {
                Cell::$variant(cell)
            }
            fn of(cell: Cell) -> Option<&'static Self> {
                match cell {
                    Cell::$variant(c) => Some(c),
                    _ => None,
                }
            }
        }
    };
}

instrument!(CounterCell, Counter, Counter, |_b| Box::leak(Box::new(CounterCell::new())));
instrument!(UpDownCell, UpDownCounter, UpDown, |_b| Box::leak(Box::new(UpDownCell::new())));
instrument!(GaugeCell, Gauge, Gauge, |_b| Box::leak(Box::new(GaugeCell::new())));
instrument!(HistogramCell, Histogram, Histogram, |b| HistogramCell::leaked(b));

/// One metric macro call site. Built by the macros; not a stable API.
#[doc(hidden)]
pub struct MetricSite<C: Instrument> {
    descriptor: Descriptor,
    keys: &'static [&'static str],
    /// The label values when all are literals.
    values: Option<&'static [&'static str]>,
    family: AtomicPtr<Family>,
    cell: AtomicPtr<C>,
}

impl<C: Instrument> MetricSite<C> {
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        bounds: &'static [f64],
        keys: &'static [&'static str],
        values: Option<&'static [&'static str]>,
    ) -> Self {
        MetricSite {
            descriptor: Descriptor { name, kind: C::KIND, unit, description, bounds },
            keys,
            values,
            family: AtomicPtr::new(std::ptr::null_mut()),
            cell: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The cell of a site whose label values are all literals: cached after the first call.
    #[inline(always)]
    pub fn cell(&'static self) -> &'static C {
        let cell = self.cell.load(Acquire);
        if cell.is_null() {
            return self.resolve(self.values.unwrap_or(&[]));
        }
        // SAFETY: only `resolve` stores here, a pointer to a `'static` cell of type `C`.
        unsafe { &*cell }
    }

    /// The cell for these label values (one per key of the site, in order).
    pub fn with_values(&'static self, values: &[LabelRef<'_>]) -> &'static C {
        if !ENABLED {
            return self.cell();
        }
        thread_local! {
            static SCRATCH: RefCell<(String, Vec<usize>)> = const { RefCell::new((String::new(), Vec::new())) };
        }
        SCRATCH
            .try_with(|scratch| {
                let Ok(mut scratch) = scratch.try_borrow_mut() else { return None };
                let (text, ends) = &mut *scratch;
                text.clear();
                ends.clear();
                for value in values {
                    match value {
                        LabelRef::Str(s) => text.push_str(s),
                        LabelRef::Display(d) => {
                            let _ = write!(text, "{d}");
                        }
                    }
                    ends.push(text.len());
                }
                // The values as slices of the buffer, on the stack for up to eight labels.
                let mut parts = [""; 8];
                let mut more = Vec::new();
                let mut start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    let part = &text[start..end];
                    start = end;
                    match parts.get_mut(i) {
                        Some(slot) => *slot = part,
                        None => more.push(part),
                    }
                }
                if more.is_empty() {
                    return Some(self.lookup(&parts[..ends.len()], None));
                }
                let all: Vec<&str> = parts.iter().copied().chain(more).collect();
                Some(self.lookup(&all, None))
            })
            .ok()
            .flatten()
            // A value whose `Display` itself updates a metric on this thread, or a thread being torn down.
            .unwrap_or_else(|| {
                let owned: Vec<String> = values
                    .iter()
                    .map(|v| match v {
                        LabelRef::Str(s) => (*s).to_owned(),
                        LabelRef::Display(d) => d.to_string(),
                    })
                    .collect();
                let parts: Vec<&str> = owned.iter().map(String::as_str).collect();
                self.lookup(&parts, None)
            })
    }

    #[cold]
    #[inline(never)]
    fn resolve(&'static self, values: &'static [&'static str]) -> &'static C {
        let (cell, overflowed) = self.find(values, Some(values));
        if !overflowed {
            self.cell.store(cell as *const C as *mut C, Release);
        }
        cell
    }

    fn lookup(&'static self, values: &[&str], statics: Option<&'static [&'static str]>) -> &'static C {
        self.find(values, statics).0
    }

    fn find(&'static self, values: &[&str], statics: Option<&'static [&'static str]>) -> (&'static C, bool) {
        // Compiled out: one cell per site, never exported (and never updated: the handles check too).
        let family = if ENABLED { self.family() } else { None };
        let Some(family) = family else { return (self.detached(), false) };
        let keys = &self.keys[..self.keys.len().min(values.len())];
        let lookup = family.series(keys, values, statics, || C::wrap(C::make(family.bounds)));
        let overflowed = matches!(lookup, Lookup::Overflow(_));
        match C::of(lookup.series().cell) {
            Some(cell) => (cell, overflowed),
            None => (self.detached(), false),
        }
    }

    /// The site's family; `None` when its name belongs to a metric of another kind (said once).
    fn family(&'static self) -> Option<&'static Family> {
        let known = self.family.load(Acquire);
        if !known.is_null() {
            // SAFETY: families are leaked; only this function stores here.
            return Some(unsafe { &*known });
        }
        match family(&self.descriptor) {
            Ok(f) => {
                self.family.store(f as *const Family as *mut Family, Release);
                Some(f)
            }
            Err(other) => {
                eprintln!(
                    "[telem] metric `{}` is a {} here but a {} elsewhere: updates at this {} are not exported",
                    self.descriptor.name,
                    self.descriptor.kind.as_str(),
                    other.kind.as_str(),
                    self.descriptor.kind.as_str(),
                );
                None
            }
        }
    }

    /// A cell of its own for a site whose metric name is taken by another kind: it counts, unexported.
    fn detached(&'static self) -> &'static C {
        let known = self.cell.load(Acquire);
        if !known.is_null() {
            // SAFETY: as in `cell`.
            return unsafe { &*known };
        }
        let cell = C::make(self.descriptor.bounds);
        self.cell.store(cell as *const C as *mut C, Release);
        cell
    }
}

/// A label value as a metric macro passes it: text as is, anything else through its `Display`.
#[doc(hidden)]
pub enum LabelRef<'a> {
    Str(&'a str),
    Display(&'a dyn Display),
}

/// The autoref pair that picks [`LabelRef::Str`] for `&str`, `String`, `Cow<str>` … and
/// [`LabelRef::Display`] for any other `Display` value.
#[doc(hidden)]
pub struct Label<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ViaStr {
    fn __telem_label(&self) -> LabelRef<'_>;
}

impl<T: AsRef<str> + ?Sized> ViaStr for Label<'_, T> {
    fn __telem_label(&self) -> LabelRef<'_> {
        LabelRef::Str(self.0.as_ref())
    }
}

#[doc(hidden)]
pub trait ViaDisplay {
    fn __telem_label(&self) -> LabelRef<'_>;
}

impl<T: Display> ViaDisplay for &Label<'_, T> {
    fn __telem_label(&self) -> LabelRef<'_> {
        LabelRef::Display(self.0)
    }
}

/// A monotonic counter: `telem::counter!("api.requests", endpoint = "/chat").add(1)`.
#[derive(Clone, Copy)]
pub struct Counter(&'static CounterCell);

/// A sum that goes up and down: `telem::up_down_counter!("queue.jobs").add(-1)`.
#[derive(Clone, Copy)]
pub struct UpDownCounter(&'static UpDownCell);

/// The last value set: `telem::gauge!("queue.size", queue = "processing").set(n)`.
#[derive(Clone, Copy)]
pub struct Gauge(&'static GaugeCell);

/// Explicit-bucket histogram: `telem::histogram!("response.time", unit = "ms").record(ms)`.
#[derive(Clone, Copy)]
pub struct Histogram(&'static HistogramCell);

impl Counter {
    #[doc(hidden)]
    pub fn from_cell(cell: &'static CounterCell) -> Counter {
        Counter(cell)
    }

    /// Adds `n`. Inside a sampled span the update becomes the series' exemplar.
    #[inline(always)]
    pub fn add(self, n: u64) {
        if ENABLED {
            self.0.add(n);
        }
    }

    /// Adds one.
    #[inline(always)]
    pub fn increment(self) {
        self.add(1);
    }

    /// The count so far.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl UpDownCounter {
    #[doc(hidden)]
    pub fn from_cell(cell: &'static UpDownCell) -> UpDownCounter {
        UpDownCounter(cell)
    }

    /// Adds `n` (negative: subtracts).
    #[inline(always)]
    pub fn add(self, n: i64) {
        if ENABLED {
            self.0.add(n);
        }
    }

    /// The value now.
    pub fn get(self) -> i64 {
        self.0.get()
    }
}

impl Gauge {
    #[doc(hidden)]
    pub fn from_cell(cell: &'static GaugeCell) -> Gauge {
        Gauge(cell)
    }

    /// Sets the value (any number: integers are converted to `f64`).
    #[inline(always)]
    pub fn set(self, value: impl MetricValue) {
        if ENABLED {
            self.0.set(value.to_f64());
        }
    }

    /// The value now.
    pub fn get(self) -> f64 {
        self.0.get()
    }
}

impl Histogram {
    #[doc(hidden)]
    pub fn from_cell(cell: &'static HistogramCell) -> Histogram {
        Histogram(cell)
    }

    /// Records one observation (NaN is ignored). Inside a sampled span it becomes its bucket's exemplar.
    #[inline(always)]
    pub fn record(self, value: impl MetricValue) {
        if ENABLED {
            self.0.record(value.to_f64());
        }
    }

    /// Its numbers now.
    pub fn snapshot(self) -> super::cell::HistogramSnapshot {
        self.0.snapshot()
    }
}

/// A number a gauge or histogram takes: every primitive integer and float.
pub trait MetricValue: Copy {
    /// As `f64` (integers above 2^53 round).
    fn to_f64(self) -> f64;
}

macro_rules! metric_value {
    ($($t:ty),*) => { $(impl MetricValue for $t { #[inline(always)] fn to_f64(self) -> f64 { self as f64 } })* };
}
metric_value!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

impl MetricValue for std::time::Duration {
    /// Seconds.
    fn to_f64(self) -> f64 {
        self.as_secs_f64()
    }
}

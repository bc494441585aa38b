//! Where a series keeps its numbers: atomics that an update touches with one relaxed operation (a
//! histogram: a bucket, the sum, and min/max only when they move), read by the exposition at scrape
//! time. Every cell can be built in a `static` (`const fn new`), which is how `#[counted]` and the
//! metric macros keep theirs; dynamic series leak theirs, bounded by the cardinality limit.

use crate::collect::local::hot;
use crate::trace::context::SAMPLED;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::*};

/// The trace and span an update was made in, for OpenMetrics exemplars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExemplarData {
    /// The sampled span's trace id.
    pub trace_id: u128,
    /// The sampled span's id.
    pub span_id: u64,
    /// The value of the update (a counter's increment, a histogram's observation).
    pub value: f64,
    /// Clock ticks when it was recorded.
    pub tick: u64,
}

/// The last update made inside a sampled span. Written under a sequence lock (odd while writing), so a
/// reader sees one whole exemplar; a writer that finds it being written skips (an exemplar is a sample).
pub struct Exemplar {
    seq: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
    value: AtomicU64,
    tick: AtomicU64,
}

impl Exemplar {
    /// No exemplar yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Exemplar {
        Exemplar {
            seq: AtomicU64::new(0),
            trace_hi: AtomicU64::new(0),
            trace_lo: AtomicU64::new(0),
            span: AtomicU64::new(0),
            value: AtomicU64::new(0),
            tick: AtomicU64::new(0),
        }
    }

    /// Keeps `value` as the exemplar when this thread is inside a sampled span that is not already
    /// the exemplar's: outside a span this is one thread-local load and a branch.
    #[inline(always)]
    pub fn offer(&self, value: f64) {
        let hot = hot();
        let span = hot.span.get();
        if span != 0 && hot.flags.get() & SAMPLED != 0 && self.span.load(Relaxed) != span {
            self.write(hot.trace.get(), span, value);
        }
    }

    #[cold]
    #[inline(never)]
    fn write(&self, trace: u128, span: u64, value: f64) {
        let seq = self.seq.load(Relaxed);
        if seq & 1 == 1 || self.seq.compare_exchange(seq, seq + 1, Acquire, Relaxed).is_err() {
            return;
        }
        // The odd sequence is visible before any of the data stores (a reader then retries).
        std::sync::atomic::fence(Release);
        self.trace_hi.store((trace >> 64) as u64, Relaxed);
        self.trace_lo.store(trace as u64, Relaxed);
        self.span.store(span, Relaxed);
        self.value.store(value.to_bits(), Relaxed);
        self.tick.store(crate::clock::now(), Relaxed);
        self.seq.store(seq + 2, Release);
    }

    /// The exemplar, if an update inside a sampled span made one.
    pub fn read(&self) -> Option<ExemplarData> {
        for _ in 0..64 {
            let before = self.seq.load(Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let data = ExemplarData {
                trace_id: (self.trace_hi.load(Relaxed) as u128) << 64 | self.trace_lo.load(Relaxed) as u128,
                span_id: self.span.load(Relaxed),
                value: f64::from_bits(self.value.load(Relaxed)),
                tick: self.tick.load(Relaxed),
            };
            std::sync::atomic::fence(Acquire);
            if self.seq.load(Relaxed) == before {
                return Some(data);
            }
        }
        None
    }
}

/// A monotonic counter.
pub struct CounterCell {
    value: AtomicU64,
    exemplar: Exemplar,
}

impl CounterCell {
    /// At zero.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> CounterCell {
        CounterCell { value: AtomicU64::new(0), exemplar: Exemplar::new() }
    }

    /// Adds `n`: one relaxed `fetch_add`, and the exemplar check.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Relaxed);
        self.exemplar.offer(n as f64);
    }

    /// The count so far.
    pub fn get(&self) -> u64 {
        self.value.load(Relaxed)
    }

    pub(crate) fn exemplar(&self) -> Option<ExemplarData> {
        self.exemplar.read()
    }
}

/// A value that goes up and down by whole steps (an up-down counter, the in-flight calls of
/// `#[counted(concurrency)]`).
pub struct UpDownCell(AtomicI64);

impl UpDownCell {
    /// At zero.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> UpDownCell {
        UpDownCell(AtomicI64::new(0))
    }

    /// Adds `n` (negative to go down).
    #[inline(always)]
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

/// The last value set.
pub struct GaugeCell(AtomicU64);

impl GaugeCell {
    /// At zero.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> GaugeCell {
        GaugeCell(AtomicU64::new(0))
    }

    /// Sets the value: one relaxed store.
    #[inline(always)]
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }
}

/// Explicit-bucket histogram: `counts[i]` counts observations `<= bounds[i]` and above the bound before
/// it, `counts[bounds.len()]` those above the last bound. The total count is the sum of the buckets
/// (no separate counter to keep in step); sum, min and max are `f64` bits.
pub struct HistogramCell {
    bounds: &'static [f64],
    counts: &'static [AtomicU64],
    exemplars: &'static [Exemplar],
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

/// A histogram's numbers at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    /// The upper bounds (inclusive) of the finite buckets.
    pub bounds: &'static [f64],
    /// Observations per bucket (not cumulative), one more than `bounds` (the last is above every bound).
    pub counts: Vec<u64>,
    /// Observations in all.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest observation (`None` before the first).
    pub min: Option<f64>,
    /// The largest observation.
    pub max: Option<f64>,
}

impl HistogramCell {
    /// A histogram over `bounds` (sorted, finite); `counts` and `exemplars` have `bounds.len() + 1`
    /// entries each.
    pub const fn new(bounds: &'static [f64], counts: &'static [AtomicU64], exemplars: &'static [Exemplar]) -> Self {
        assert!(counts.len() == bounds.len() + 1 && exemplars.len() == counts.len());
        HistogramCell {
            bounds,
            counts,
            exemplars,
            sum: AtomicU64::new(0),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
        }
    }

    /// A histogram whose storage lives as long as the process (dynamic series; bounded in number by the
    /// cardinality limit).
    pub(crate) fn leaked(bounds: &'static [f64]) -> &'static HistogramCell {
        let counts: &'static [AtomicU64] = Vec::from_iter((0..=bounds.len()).map(|_| AtomicU64::new(0))).leak();
        let exemplars: &'static [Exemplar] = Vec::from_iter((0..=bounds.len()).map(|_| Exemplar::new())).leak();
        Box::leak(Box::new(HistogramCell::new(bounds, counts, exemplars)))
    }

    /// Records one observation. NaN is ignored (it has no bucket and would poison the sum).
    #[inline(always)]
    pub fn record(&self, value: f64) {
        if value.is_nan() {
            return;
        }
        let mut i = 0;
        while i < self.bounds.len() && value > self.bounds[i] {
            i += 1;
        }
        self.counts[i].fetch_add(1, Relaxed);
        add_f64(&self.sum, value);
        if value < f64::from_bits(self.min.load(Relaxed)) {
            self.min.fetch_min_f64(value);
        }
        if value > f64::from_bits(self.max.load(Relaxed)) {
            self.max.fetch_max_f64(value);
        }
        self.exemplars[i].offer(value);
    }

    /// The numbers now (each read relaxed: a scrape during updates may see the count one ahead of the
    /// sum, as with any lock-free histogram).
    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        let count = counts.iter().sum();
        let min = f64::from_bits(self.min.load(Relaxed));
        let max = f64::from_bits(self.max.load(Relaxed));
        HistogramSnapshot {
            bounds: self.bounds,
            counts,
            count,
            sum: f64::from_bits(self.sum.load(Relaxed)),
            min: min.is_finite().then_some(min),
            max: max.is_finite().then_some(max),
        }
    }

    /// The exemplar of bucket `i`, if any.
    pub(crate) fn exemplar(&self, i: usize) -> Option<ExemplarData> {
        self.exemplars.get(i).and_then(Exemplar::read)
    }
}

#[inline(always)]
fn add_f64(cell: &AtomicU64, value: f64) {
    let mut old = cell.load(Relaxed);
    loop {
        let new = (f64::from_bits(old) + value).to_bits();
        match cell.compare_exchange_weak(old, new, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(seen) => old = seen,
        }
    }
}

/// `fetch_min`/`fetch_max` for `f64` bits, out of line: they run only when an observation is a new
/// extreme.
trait F64Extremes {
    fn fetch_min_f64(&self, value: f64);
    fn fetch_max_f64(&self, value: f64);
}

impl F64Extremes for AtomicU64 {
    #[cold]
    fn fetch_min_f64(&self, value: f64) {
        let _ = self.fetch_update(Relaxed, Relaxed, |old| (value < f64::from_bits(old)).then(|| value.to_bits()));
    }

    #[cold]
    fn fetch_max_f64(&self, value: f64) {
        let _ = self.fetch_update(Relaxed, Relaxed, |old| (value > f64::from_bits(old)).then(|| value.to_bits()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        static BOUNDS: [f64; 3] = [1.0, 2.0, 5.0];
        static COUNTS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
        static EXEMPLARS: [Exemplar; 4] = [const { Exemplar::new() }; 4];
        let h = HistogramCell::new(&BOUNDS, &COUNTS, &EXEMPLARS);
        for v in [0.5, 1.0, 1.5, 2.0, 4.0, 9.0, f64::NAN] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 2, 1, 1]);
        assert_eq!(s.count, 6);
        assert_eq!(s.sum, 18.0);
        assert_eq!((s.min, s.max), (Some(0.5), Some(9.0)));
        assert_eq!(HistogramCell::leaked(&BOUNDS).snapshot().min, None);
    }
}

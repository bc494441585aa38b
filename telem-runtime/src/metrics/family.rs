//! Metric families and their series: the one registry every metric goes through, whether it comes
//! from `#[counted]`, a metric macro with static labels (looked up once, then cached by the call site)
//! or one with dynamic labels (looked up per update).
//!
//! A lookup hashes the label keys and values and reads one of [`SHARDS`] read-locked maps of the family:
//! there is no process-wide lock on the update path. A new series is made under that shard's write
//! lock, if the family is below its cardinality limit; past it every update goes to the family's one
//! overflow series (`otel.metric.overflow="true"`, as the OpenTelemetry specification prescribes) and is
//! counted in [`OVERFLOWED`]. Series live as long as the process: memory is bounded by the limit, with
//! no upkeep call.

use super::cell::{CounterCell, GaugeCell, HistogramCell, UpDownCell};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Mutex, OnceLock, RwLock};

/// What an instrument measures, and so how it is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A monotonic sum (Prometheus `counter`, `_total`).
    Counter,
    /// A sum that goes up and down (Prometheus `gauge`).
    UpDownCounter,
    /// The last value set (Prometheus `gauge`).
    Gauge,
    /// Explicit-bucket histogram (Prometheus `histogram`).
    Histogram,
}

impl Kind {
    /// The name the metric macros use for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::UpDownCounter => "up-down counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A series' storage, by kind.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Cell {
    Counter(&'static CounterCell),
    UpDown(&'static UpDownCell),
    Gauge(&'static GaugeCell),
    Histogram(&'static HistogramCell),
}

/// Label pairs, in the order they were written.
pub(crate) type Labels = Box<[(Cow<'static, str>, Cow<'static, str>)]>;

/// One labelled time series.
pub(crate) struct Series {
    pub labels: Labels,
    pub cell: Cell,
}

/// The default number of series per metric (`Builder::cardinality_limit`,
/// `TELEM_METRICS_CARDINALITY_LIMIT`).
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// The limit of every family without one of its own.
pub(crate) static CARDINALITY_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_CARDINALITY_LIMIT);

/// Updates that went to an overflow series because their metric had reached its limit.
pub(crate) static OVERFLOWED: AtomicU64 = AtomicU64::new(0);

/// The label of the overflow series.
pub const OVERFLOW_LABEL: &str = "otel.metric.overflow";

const SHARDS: usize = 8;

/// The shards' maps are keyed by [`hash`] already: their hasher passes the key through.
type Hash64 = BuildHasherDefault<Passthrough>;

#[derive(Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8)) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// FxHash's step (rustc's hasher): a multiply and a rotate per word, enough to spread label sets over
/// shards and buckets; not keyed, as label values are not chosen to collide by an attacker any more than
/// the metric names are.
struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(last));
        self.add(bytes.len() as u64);
    }
}

/// Every series of one metric name.
pub(crate) struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
    /// Bucket bounds of the family's dynamic histogram series.
    pub bounds: &'static [f64],
    shards: [RwLock<HashMap<u64, Vec<&'static Series>, Hash64>>; SHARDS],
    /// Every series in the order it was made, for the exposition.
    list: Mutex<Vec<&'static Series>>,
    /// Series that count against the limit (those of `#[counted]` sites do not: the binary bounds them).
    limited: AtomicUsize,
    /// This family's own limit (0: the global one).
    limit: AtomicUsize,
    overflow: OnceLock<&'static Series>,
}

/// What a metric is declared as, at each call site.
#[derive(Clone, Copy)]
pub(crate) struct Descriptor {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
    pub bounds: &'static [f64],
}

struct Registry {
    families: Mutex<Vec<&'static Family>>,
    /// Limits set for names before their family existed.
    limits: Mutex<HashMap<String, usize>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry { families: Mutex::new(Vec::new()), limits: Mutex::new(HashMap::new()) })
}

/// Every family, counted functions' series registered (at zero) first.
pub(crate) fn families() -> Vec<&'static Family> {
    super::counted::register_all();
    registry().families.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The family named `d.name`, made if new. `Err` with the existing family when the name is taken by a
/// metric of another kind.
pub(crate) fn family(d: &Descriptor) -> Result<&'static Family, &'static Family> {
    let mut families = registry().families.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = families.iter().find(|f| f.name == d.name) {
        return if found.kind == d.kind { Ok(found) } else { Err(found) };
    }
    let limit = registry().limits.lock().unwrap_or_else(|e| e.into_inner()).get(d.name).copied().unwrap_or(0);
    let family: &'static Family = Box::leak(Box::new(Family {
        name: d.name,
        kind: d.kind,
        unit: d.unit,
        description: d.description,
        bounds: d.bounds,
        shards: std::array::from_fn(|_| RwLock::new(HashMap::default())),
        list: Mutex::new(Vec::new()),
        limited: AtomicUsize::new(0),
        limit: AtomicUsize::new(limit),
        overflow: OnceLock::new(),
    }));
    families.push(family);
    Ok(family)
}

/// Sets the limit of the metric `name` (now, or when it is first used).
pub(crate) fn set_limit(name: &str, limit: usize) {
    registry().limits.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), limit);
    for family in registry().families.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        if family.name == name {
            family.limit.store(limit, Relaxed);
        }
    }
}

/// Forgets per-metric limits (a new `init` sets its own).
pub(crate) fn clear_limits() {
    registry().limits.lock().unwrap_or_else(|e| e.into_inner()).clear();
    for family in registry().families.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        family.limit.store(0, Relaxed);
    }
}

/// Hashes label keys and values.
fn hash(keys: &[&str], values: &[&str]) -> u64 {
    let mut h = Fx(0);
    for key in keys {
        h.bytes(key.as_bytes());
    }
    for value in values {
        h.bytes(value.as_bytes());
    }
    h.0
}

fn same(series: &Series, keys: &[&str], values: &[&str]) -> bool {
    series.labels.len() == keys.len()
        && series.labels.iter().zip(keys.iter().zip(values)).all(|((k, v), (key, value))| k == key && v == value)
}

impl Family {
    /// The series with these labels: found, made (below the limit), or the overflow series.
    /// `statics` are the values when they are `'static` (no copy is made of them).
    pub fn series(
        &'static self,
        keys: &'static [&'static str],
        values: &[&str],
        statics: Option<&'static [&'static str]>,
        make: impl FnOnce() -> Cell,
    ) -> Lookup {
        let h = hash(keys, values);
        let shard = &self.shards[h as usize % SHARDS];
        if let Some(found) =
            shard.read().unwrap_or_else(|e| e.into_inner()).get(&h).and_then(|list| find(list, keys, values))
        {
            return Lookup::Found(found);
        }
        let limit = match self.limit.load(Relaxed) {
            0 => CARDINALITY_LIMIT.load(Relaxed),
            own => own,
        };
        // The overflow series is one of the `limit`.
        if self.limited.load(Relaxed) + 1 >= limit {
            return self.overflowed(make);
        }
        let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(h).or_default();
        if let Some(found) = find(list, keys, values) {
            return Lookup::Found(found);
        }
        if self.limited.fetch_add(1, Relaxed) + 1 >= limit {
            self.limited.fetch_sub(1, Relaxed);
            drop(map);
            return self.overflowed(make);
        }
        let labels: Labels = match statics {
            Some(statics) => keys.iter().zip(statics).map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))).collect(),
            None => keys.iter().zip(values).map(|(k, v)| (Cow::Borrowed(*k), Cow::Owned((*v).to_owned()))).collect(),
        };
        let series: &'static Series = Box::leak(Box::new(Series { labels, cell: make() }));
        list.push(series);
        drop(map);
        self.list.lock().unwrap_or_else(|e| e.into_inner()).push(series);
        Lookup::Found(series)
    }

    /// Adds a series whose storage is static (a `#[counted]` site's), outside the limit.
    pub fn add_static(&'static self, labels: Labels, cell: Cell) {
        let series: &'static Series = Box::leak(Box::new(Series { labels, cell }));
        let keys: Vec<&str> = series.labels.iter().map(|(k, _)| &**k).collect();
        let values: Vec<&str> = series.labels.iter().map(|(_, v)| &**v).collect();
        let h = hash(&keys, &values);
        self.shards[h as usize % SHARDS].write().unwrap_or_else(|e| e.into_inner()).entry(h).or_default().push(series);
        self.list.lock().unwrap_or_else(|e| e.into_inner()).push(series);
    }

    fn overflowed(&'static self, make: impl FnOnce() -> Cell) -> Lookup {
        OVERFLOWED.fetch_add(1, Relaxed);
        let series = self.overflow.get_or_init(|| {
            let labels: Labels = Box::new([(Cow::Borrowed(OVERFLOW_LABEL), Cow::Borrowed("true"))]);
            let series: &'static Series = Box::leak(Box::new(Series { labels, cell: make() }));
            self.list.lock().unwrap_or_else(|e| e.into_inner()).push(series);
            series
        });
        Lookup::Overflow(series)
    }

    /// Every series, in the order they were made.
    pub fn all(&self) -> Vec<&'static Series> {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn find(list: &[&'static Series], keys: &[&str], values: &[&str]) -> Option<&'static Series> {
    list.iter().copied().find(|s| same(s, keys, values))
}

/// The outcome of a series lookup.
pub(crate) enum Lookup {
    Found(&'static Series),
    /// The family is at its limit: the update goes to the overflow series (already counted).
    Overflow(&'static Series),
}

impl Lookup {
    pub fn series(&self) -> &'static Series {
        match self {
            Lookup::Found(s) | Lookup::Overflow(s) => s,
        }
    }
}

/// Counters of the metrics registry, for `telem::stats()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricStats {
    /// Metric names in use.
    pub metrics: u64,
    /// Series across all metrics (overflow series included).
    pub series: u64,
    /// Updates that went to an overflow series because their metric had reached its cardinality limit.
    pub overflowed: u64,
}

/// The registry's counters now.
pub(crate) fn stats() -> MetricStats {
    let families = families();
    MetricStats {
        metrics: families.len() as u64,
        series: families.iter().map(|f| f.list.lock().unwrap_or_else(|e| e.into_inner()).len() as u64).sum(),
        overflowed: OVERFLOWED.load(Relaxed),
    }
}

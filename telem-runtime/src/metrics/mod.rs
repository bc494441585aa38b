//! Metrics: counters, up-down counters, gauges and histograms with labels, `#[counted]` functions,
//! and their Prometheus exposition.
//!
//! Metrics do not go through the rings: every series is a set of atomics (`cell`), updated in place
//! with relaxed operations and read when the exposition is rendered (`exposition`), so they count from
//! the start of the process, whether or not telem is running, and need no upkeep thread. Series are
//! grouped in families by metric name (`family`), each bounded by its cardinality limit; the metric
//! macros' call sites (`site`) and `#[counted]` (`counted`) reach them.

pub(crate) mod cell;
pub(crate) mod counted;
pub(crate) mod exposition;
pub(crate) mod family;
#[cfg(feature = "prometheus")]
pub(crate) mod server;
pub(crate) mod site;

pub use cell::{ExemplarData, HistogramSnapshot};
pub use exposition::{render, render_as, Format};
pub use family::{Kind, MetricStats, DEFAULT_CARDINALITY_LIMIT, OVERFLOW_LABEL};
pub use site::{Counter, Gauge, Histogram, Instrument, MetricValue, UpDownCounter};

/// The default buckets of a histogram declared without `buckets = […]`: the OpenTelemetry SDK's
/// default explicit bucket boundaries.
pub const DEFAULT_BUCKETS: &[f64] =
    &[0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0];

/// The address the Prometheus endpoint listens on (feature `prometheus`), while telem runs and the
/// endpoint could bind (`TELEM_PROMETHEUS_ADDR`, default `127.0.0.1:9464`; port 0 picks a free one).
pub fn endpoint() -> Option<std::net::SocketAddr> {
    #[cfg(feature = "prometheus")]
    return server::address();
    #[cfg(not(feature = "prometheus"))]
    None
}

/// The limits `init` resolved: the global one and per-metric ones (which replace any set before).
pub(crate) fn install_limits(global: usize, per_metric: &[(String, usize)]) {
    family::CARDINALITY_LIMIT.store(global, std::sync::atomic::Ordering::Relaxed);
    family::clear_limits();
    for (name, limit) in per_metric {
        family::set_limit(name, *limit);
    }
}

/// What the macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::cell::{CounterCell, Exemplar, GaugeCell, HistogramCell, UpDownCell};
    pub use super::counted::{Counted, CountedFuture, CountedGuard, CountedSite, DEFAULT_NAME, DURATION_BUCKETS};
    pub use super::site::{Label, LabelRef, MetricSite, ViaDisplay, ViaStr};
    pub use super::DEFAULT_BUCKETS;
}

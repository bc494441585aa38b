//! Head sampling: decided once, at the root of a trace, and carried in the W3C `sampled` flag by
//! every span under it, in this process and (through `traceparent`) in the next.
//!
//! The decision costs the recording thread one relaxed load and a compare per root; children copy
//! their parent's flags. A ratio decision is a function of the trace id alone (its low 56 bits, the
//! part W3C Level 2 calls random), so every process that sees the trace agrees.

use crate::config::ConfigError;
use crate::trace::context::{Context, RANDOM, SAMPLED};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Which traces are recorded, named as `OTEL_TRACES_SAMPLER` names them.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Sampler {
    /// Every trace (`always_on`).
    AlwaysOn,
    /// No trace (`always_off`); contexts still propagate, with sampled = 0.
    AlwaysOff,
    /// This fraction of traces, chosen by trace id (`traceidratio`), also under a remote parent.
    TraceIdRatio(f64),
    /// A remote parent's flag decides; new traces are all sampled (`parentbased_always_on`, the default).
    #[default]
    ParentBasedAlwaysOn,
    /// A remote parent's flag decides; new traces are not sampled (`parentbased_always_off`).
    ParentBasedAlwaysOff,
    /// A remote parent's flag decides; this fraction of new traces is sampled (`parentbased_traceidratio`).
    ParentBasedTraceIdRatio(f64),
}

impl fmt::Display for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sampler::AlwaysOn => f.write_str("always_on"),
            Sampler::AlwaysOff => f.write_str("always_off"),
            Sampler::TraceIdRatio(r) => write!(f, "traceidratio({r})"),
            Sampler::ParentBasedAlwaysOn => f.write_str("parentbased_always_on"),
            Sampler::ParentBasedAlwaysOff => f.write_str("parentbased_always_off"),
            Sampler::ParentBasedTraceIdRatio(r) => write!(f, "parentbased_traceidratio({r})"),
        }
    }
}

/// The sampler names `OTEL_TRACES_SAMPLER` accepts.
const NAMES: &str = "one of always_on, always_off, traceidratio, parentbased_always_on, \
                                parentbased_always_off, parentbased_traceidratio";

impl Sampler {
    /// From `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` values. The ratio defaults to 1.0, as
    /// the specification says; an argument given to a sampler without a ratio is ignored.
    pub(crate) fn parse(name: &str, arg: Option<&str>) -> Result<Sampler, ConfigError> {
        let ratio = || match arg {
            None => Ok(1.0),
            Some(a) => match a.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(ConfigError::new("OTEL_TRACES_SAMPLER_ARG", a.to_owned(), "a ratio between 0 and 1")),
            },
        };
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
            "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
            _ => return Err(ConfigError::new("OTEL_TRACES_SAMPLER", name.to_owned(), NAMES)),
        })
    }

    /// False for a ratio outside 0..=1 (or NaN).
    pub(crate) fn is_valid(&self) -> bool {
        match self {
            Sampler::TraceIdRatio(r) | Sampler::ParentBasedTraceIdRatio(r) => (0.0..=1.0).contains(r),
            _ => true,
        }
    }

    fn threshold(&self) -> u64 {
        match self {
            Sampler::AlwaysOn | Sampler::ParentBasedAlwaysOn => ALL,
            Sampler::AlwaysOff | Sampler::ParentBasedAlwaysOff => 0,
            Sampler::TraceIdRatio(r) | Sampler::ParentBasedTraceIdRatio(r) => (r.clamp(0.0, 1.0) * ALL as f64) as u64,
        }
    }

    fn parent_based(&self) -> bool {
        matches!(
            self,
            Sampler::ParentBasedAlwaysOn | Sampler::ParentBasedAlwaysOff | Sampler::ParentBasedTraceIdRatio(_)
        )
    }

    /// Whether this sampler keeps a new trace with id `trace_id` (what every process decides for it).
    pub fn samples(&self, trace_id: crate::TraceId) -> bool {
        (trace_id.0 as u64 & RANDOM_BITS) < self.threshold()
    }
}

/// 2^56: the threshold that keeps every trace.
const ALL: u64 = 1 << 56;
const RANDOM_BITS: u64 = ALL - 1;

static THRESHOLD: AtomicU64 = AtomicU64::new(ALL);
static PARENT_BASED: AtomicBool = AtomicBool::new(true);
/// Keep-errors tail rule on: unsampled spans are recorded too, and the collector keeps a trace whole
/// if one of its spans fails.
pub(crate) static KEEP_ERRORS: AtomicBool = AtomicBool::new(false);

pub(crate) fn install(sampler: &Sampler, keep_errors: bool) {
    THRESHOLD.store(sampler.threshold(), Ordering::Relaxed);
    PARENT_BASED.store(sampler.parent_based(), Ordering::Relaxed);
    KEEP_ERRORS.store(keep_errors, Ordering::Relaxed);
}

/// The flags of a new trace root: random (telem's trace ids are), and sampled if the sampler says so.
#[inline(always)]
pub(crate) fn root_flags(trace: u128) -> u8 {
    RANDOM | ((trace as u64 & RANDOM_BITS) < THRESHOLD.load(Ordering::Relaxed)) as u8
}

/// The flags spans take under a context from elsewhere: a parent-based sampler keeps its sampled flag,
/// any other decides by trace id. The random flag is the parent's.
pub(crate) fn remote_flags(parent: &Context) -> u8 {
    let random = if parent.random { RANDOM } else { 0 };
    let sampled = if PARENT_BASED.load(Ordering::Relaxed) {
        parent.sampled
    } else {
        (parent.trace_id.0 as u64 & RANDOM_BITS) < THRESHOLD.load(Ordering::Relaxed)
    };
    random | (sampled as u8 * SAMPLED)
}

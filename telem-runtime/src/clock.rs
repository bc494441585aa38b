//! The tick clock.
//!
//! The hot path reads raw ticks (the TSC on x86_64, one `rdtsc`, ~10 ns on a KVM guest, no system call).
//! Ticks are only turned into Unix nanoseconds at export time, from one anchor taken when the runtime
//! starts and a tick rate measured against `Instant` over the whole time since that anchor, so the rate
//! gets more precise the longer the process runs and the hot path never pays for the conversion.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Reads the tick counter. Monotonic per process on every CPU with an invariant TSC (all x86_64 CPUs of
/// the last fifteen years, and KVM guests that advertise `constant_tsc`/`nonstop_tsc`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn now() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Reads the tick counter: nanoseconds since a process-wide base `Instant` on targets without a TSC.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn now() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A point where ticks, `Instant` and Unix time were read together.
#[derive(Clone, Copy, Debug)]
pub struct Anchor {
    tick: u64,
    instant: Instant,
    unix_ns: u64,
}

impl Anchor {
    /// Takes an anchor now.
    pub fn now() -> Anchor {
        let unix_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Anchor { tick: now(), instant: Instant::now(), unix_ns }
    }

    /// Measures the tick rate over the time elapsed since the anchor. Before a millisecond has passed
    /// it waits for one, so the first rate is at least roughly right; after that it costs two clock reads.
    pub fn calibrate(&self) -> Converter {
        while cfg!(target_arch = "x86_64") && self.instant.elapsed().as_micros() < 1000 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        self.calibrate_now()
    }

    /// [`calibrate`](Self::calibrate) without waiting: within the first millisecond after the anchor
    /// the rate is measured over less time (its error then stays under a microsecond over the spans
    /// that ended in that time).
    pub fn calibrate_now(&self) -> Converter {
        if cfg!(not(target_arch = "x86_64")) {
            return Converter { anchor_tick: self.tick, anchor_unix_ns: self.unix_ns, ns_per_tick: 1.0 };
        }
        let elapsed = self.instant.elapsed().max(std::time::Duration::from_nanos(1));
        let ticks = now().wrapping_sub(self.tick).max(1);
        Converter {
            anchor_tick: self.tick,
            anchor_unix_ns: self.unix_ns,
            ns_per_tick: elapsed.as_nanos() as f64 / ticks as f64,
        }
    }
}

/// Turns ticks into Unix nanoseconds. Copied into every exported batch.
#[derive(Clone, Copy, Debug)]
pub struct Converter {
    anchor_tick: u64,
    anchor_unix_ns: u64,
    ns_per_tick: f64,
}

impl Converter {
    /// A converter from the three numbers [`Converter::parts`] returned: how the local store writes one
    /// into each block and its reader makes it again.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn from_parts(anchor_tick: u64, anchor_unix_ns: u64, ns_per_tick: f64) -> Converter {
        Converter { anchor_tick, anchor_unix_ns, ns_per_tick }
    }

    /// The anchor's tick, the anchor's Unix nanoseconds, and nanoseconds per tick.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn parts(&self) -> (u64, u64, f64) {
        (self.anchor_tick, self.anchor_unix_ns, self.ns_per_tick)
    }

    /// Unix nanoseconds of a tick reading.
    pub fn unix_ns(&self, tick: u64) -> u64 {
        let delta = tick as i128 - self.anchor_tick as i128;
        let ns = (delta as f64 * self.ns_per_tick) as i128;
        (self.anchor_unix_ns as i128 + ns).max(0) as u64
    }

    /// Nanoseconds between two tick readings.
    pub fn duration_ns(&self, start: u64, end: u64) -> u64 {
        (end.saturating_sub(start) as f64 * self.ns_per_tick) as u64
    }
}

/// The process-wide tick rate, for values measured in ticks and reported in seconds (`#[counted(duration)]`):
/// measured once against a process anchor taken on first use (which waits for the first millisecond),
/// then re-measured over the whole time since by [`process_converter`] (each metrics exposition).
#[inline(always)]
pub(crate) fn seconds_per_tick() -> f64 {
    let bits = SECONDS_PER_TICK.load(std::sync::atomic::Ordering::Relaxed);
    if bits != 0 {
        return f64::from_bits(bits);
    }
    process_converter().ns_per_tick * 1e-9
}

static SECONDS_PER_TICK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A converter over the process anchor, its rate measured now (and kept for [`seconds_per_tick`]).
#[cold]
pub(crate) fn process_converter() -> Converter {
    static ANCHOR: std::sync::OnceLock<Anchor> = std::sync::OnceLock::new();
    let converter = ANCHOR.get_or_init(Anchor::now).calibrate();
    SECONDS_PER_TICK.store((converter.ns_per_tick * 1e-9).to_bits(), std::sync::atomic::Ordering::Relaxed);
    converter
}

/// The UTC calendar date and time of a Unix time: `[year, month, day, hour, minute, second]`
/// (Howard Hinnant's days-to-civil algorithm), for file names and log timestamps.
#[cfg_attr(not(any(feature = "console", feature = "store")), allow(dead_code))]
pub(crate) fn utc(unix_secs: u64) -> [u64; 6] {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    [year as u64, month as u64, day as u64, secs / 3600, secs % 3600 / 60, secs % 60]
}

/// RFC 3339 in UTC with nanoseconds, `2026-12-03T18:36:13.123456789Z`, for a Unix time in ns.
#[cfg_attr(not(feature = "console"), allow(dead_code))]
pub(crate) fn rfc3339(unix_ns: u64) -> String {
    let [year, month, day, h, m, s] = utc(unix_ns / 1_000_000_000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:09}Z", unix_ns % 1_000_000_000)
}

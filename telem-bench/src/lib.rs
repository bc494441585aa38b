//! The functions the benchmarks and the callgrind driver call, kept in one place so both measure
//! exactly the same code.
//!
//! Every case is one call of an `#[inline(never)]` function whose body is `black_box(())`: the call is
//! never folded away, and the only difference between cases is what the instrumentation adds.

use std::cell::{Cell, UnsafeCell};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------
// plain
// ---------------------------------------------------------------------------------------------------

/// An empty function call: the baseline every other case pays too.
#[inline(never)]
pub fn plain() {
    black_box(());
}

/// Three nested plain calls (the baseline of the `*_nested3` cases).
#[inline(never)]
pub fn plain_nested3() {
    plain_mid();
}

#[inline(never)]
fn plain_mid() {
    plain();
}

/// Children under the root of the `*_tree100` cases: one root and 99 children make 100 spans a call.
pub const TREE_CHILDREN: u32 = 99;

/// A root calling [`TREE_CHILDREN`] plain children (the baseline of the `*_tree100` cases).
#[inline(never)]
pub fn plain_tree100() {
    for _ in 0..black_box(TREE_CHILDREN) {
        plain();
    }
}

// ---------------------------------------------------------------------------------------------------
// floor: two TSC reads and one 64-byte store into a thread-local ring
// ---------------------------------------------------------------------------------------------------

/// One ring slot: a single 64-byte cache line, like telem's `Record`.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct Slot {
    site: usize,
    id: u64,
    start: u64,
    end: u64,
    rest: [u64; 4],
}

const _: () = assert!(std::mem::size_of::<Slot>() == 64);

impl Slot {
    const ZERO: Slot = Slot { site: 0, id: 0, start: 0, end: 0, rest: [0; 4] };
}

/// Slots in the floor ring: 16 384 × 64 B = 1 MiB, about the memory a telem ring cycles through in a
/// burst (its capacity is larger, but its segments are reused as soon as exporters give them back).
pub const FLOOR_SLOTS: usize = 16 * 1024;
const _: () = assert!(FLOOR_SLOTS.is_power_of_two());

struct FloorRing {
    slots: UnsafeCell<[Slot; FLOOR_SLOTS]>,
    head: Cell<usize>,
}

thread_local! {
    static FLOOR: FloorRing = const { FloorRing { slots: UnsafeCell::new([Slot::ZERO; FLOOR_SLOTS]), head: Cell::new(0) } };
}

static FLOOR_SITE: u8 = 0;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn ticks() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn ticks() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

/// The physical floor of a span: a TSC read at entry, a TSC read at exit, and one 64-byte record
/// stored into a thread-local power-of-two ring with a wrapping index.
#[inline(never)]
pub fn floor() {
    let start = ticks();
    black_box(());
    let end = ticks();
    floor_store(start, end);
}

#[inline(always)]
fn floor_store(start: u64, end: u64) {
    FLOOR.with(|ring| {
        let i = ring.head.get();
        ring.head.set(i.wrapping_add(1));
        let slot = Slot { site: &FLOOR_SITE as *const u8 as usize, id: i as u64, start, end, rest: [0; 4] };
        // SAFETY: the index is masked into bounds, and only this thread reaches its ring.
        unsafe { (*ring.slots.get())[i & (FLOOR_SLOTS - 1)] = slot };
    });
}

/// Three nested floors: the floor of three nested spans.
#[inline(never)]
pub fn floor_nested3() {
    let start = ticks();
    floor_mid();
    let end = ticks();
    floor_store(start, end);
}

#[inline(never)]
fn floor_mid() {
    let start = ticks();
    floor();
    let end = ticks();
    floor_store(start, end);
}

/// A floor root over [`TREE_CHILDREN`] floor children: the floor of a 100-span tree.
#[inline(never)]
pub fn floor_tree100() {
    let start = ticks();
    for _ in 0..black_box(TREE_CHILDREN) {
        floor();
    }
    let end = ticks();
    floor_store(start, end);
}

// ---------------------------------------------------------------------------------------------------
// telem
// ---------------------------------------------------------------------------------------------------

/// An exporter that takes every batch and throws it away.
pub struct Null;

impl telem::Exporter for Null {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        black_box(batch.len());
        Ok(())
    }
}

/// Starts telem with only the null exporter (console and store off).
pub fn telem_start() -> telem::Telem {
    telem::Builder::new().exporter("console", false).exporter("store", false).with_exporter("null", Null).init()
}

/// Starts telem like [`telem_start`], but with a ring of at least `4 × spans` slots (so a burst of
/// that many never fills it nor reaches the quarter-full mark where the producer wakes the collector) and a one-hour flush interval, after one
/// `flush()` so the collector has run its first pass and sleeps: the spans stay in the ring until
/// `shutdown()` drains them. For counting instructions under valgrind, which runs one thread at a time
/// (with the default ring the collector would rarely run and most spans would take the drop path).
pub fn telem_start_holding(spans: u64) -> telem::Telem {
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("null", Null)
        .ring_capacity((4 * spans + 4).next_power_of_two() as usize)
        .flush_interval(Duration::from_secs(3600))
        .init();
    telem::flush();
    telem
}

/// Starts telem like [`telem_start`] with a ratio sampler that keeps no trace: every root is decided
/// unsampled and its spans propagate without a record (the "sampler said no" path).
pub fn telem_start_unsampled() -> telem::Telem {
    telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("null", Null)
        .sampler(telem::Sampler::TraceIdRatio(0.0))
        .init()
}

/// Starts telem runtime-disabled (`.enabled(false)`, what `TELEM_ENABLED=0` does).
pub fn telem_start_disabled() -> telem::Telem {
    telem::Builder::new().enabled(false).exporter("console", false).exporter("store", false).init()
}

/// Stops telem (the guard's shutdown) and prints its counters to stderr, so the run shows whether
/// every span of the benchmark reached the null exporter or was counted as dropped.
pub fn telem_stop(guard: telem::Telem, label: &str) {
    telem_stop_into(guard, label, "criterion_accounting.txt");
}

/// [`telem_stop`], appending the line to `file` in the results dir; events, when any were recorded,
/// get their own counters in the same line.
pub fn telem_stop_into(guard: telem::Telem, label: &str, file: &str) {
    let before = telem::stats();
    let drained = guard.shutdown();
    let after = telem::stats();
    let null = after.exporter("null");
    let line = format!(
        "{label}: recorded {}, ring_dropped {} ({:.4} %), null exporter exported {} dropped {} in_flight {}, drained {drained} (in rings before shutdown: {})",
        after.recorded,
        after.ring_dropped,
        100.0 * after.ring_dropped as f64 / after.recorded.max(1) as f64,
        null.map_or(0, |e| e.exported),
        null.map_or(0, |e| e.dropped),
        null.map_or(0, |e| e.in_flight),
        before.in_rings,
    );
    let events = &after.events;
    let line = if events.recorded == 0 {
        line
    } else {
        let null = events.exporter("null");
        format!(
            "{line}; events: recorded {}, ring_dropped {} ({:.4} %), null exporter exported {} dropped {} in_flight {} (in rings before shutdown: {})",
            events.recorded,
            events.ring_dropped,
            100.0 * events.ring_dropped as f64 / events.recorded.max(1) as f64,
            null.map_or(0, |e| e.exported),
            null.map_or(0, |e| e.dropped),
            null.map_or(0, |e| e.in_flight),
            before.events.in_rings,
        )
    };
    eprintln!("[telem-bench] {line}");
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(results_dir().join(file)) {
        let _ = writeln!(f, "{line}");
    }
}

/// `#[telem::span]` on an empty function.
#[telem::span]
#[inline(never)]
pub fn telem_span() {
    black_box(());
}

/// `#[telem::flow]` with three `#[step]` statements: four spans per call (the flow's root and a
/// child per step), the shape issue 8 compares with one `#[telem::span]` (target ≤ 4.5×).
#[telem::flow]
#[inline(never)]
pub fn telem_flow3() {
    #[step]
    black_box(1);
    #[step]
    black_box(2);
    #[step]
    black_box(3);
}

/// Three nested `#[telem::span]` functions.
#[telem::span]
#[inline(never)]
pub fn telem_nested3() {
    telem_mid();
}

#[telem::span]
#[inline(never)]
fn telem_mid() {
    telem_span();
}

/// A `#[telem::span]` root over [`TREE_CHILDREN`] `#[telem::span]` children: 100 spans per call.
#[telem::span]
#[inline(never)]
pub fn telem_tree100() {
    for _ in 0..black_box(TREE_CHILDREN) {
        telem_span();
    }
}

// ---------------------------------------------------------------------------------------------------
// fastrace
// ---------------------------------------------------------------------------------------------------

/// Spans fastrace's reporter has received in this process.
pub static FASTRACE_REPORTED: AtomicU64 = AtomicU64::new(0);

/// A fastrace reporter that discards what it is given, after counting it in [`FASTRACE_REPORTED`].
pub struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        FASTRACE_REPORTED.fetch_add(black_box(spans.len()) as u64, Ordering::Relaxed);
    }
}

/// Installs the discarding reporter with fastrace's default configuration.
pub fn fastrace_start() {
    fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
}

/// Local spans per root span. fastrace keeps a trace's local spans in a queue of 10 240 before it
/// silently stops recording, so the benchmarks give every 1 000 calls a fresh sampled root: the root's
/// cost (start, submit to the global collector) is amortised over them, as in a request loop.
pub const FASTRACE_SPANS_PER_ROOT: u64 = 1000;

/// Runs `f` `iters` times under sampled fastrace roots of [`FASTRACE_SPANS_PER_ROOT`] spans each;
/// returns the number of roots it opened (each is a span too).
#[inline(always)]
pub fn fastrace_loop(iters: u64, spans_per_call: u64, f: impl Fn()) -> u64 {
    let per_root = (FASTRACE_SPANS_PER_ROOT / spans_per_call).max(1);
    let mut roots = 0;
    let mut left = iters;
    while left > 0 {
        let n = left.min(per_root);
        let root = fastrace::Span::root("bench-root", fastrace::collector::SpanContext::random());
        let guard = root.set_local_parent();
        for _ in 0..n {
            f();
        }
        drop(guard);
        drop(root);
        left -= n;
        roots += 1;
    }
    roots
}

/// `#[fastrace::trace]` on an empty function.
#[fastrace::trace]
#[inline(never)]
pub fn fastrace_span() {
    black_box(());
}

/// Three nested `#[fastrace::trace]` functions.
#[fastrace::trace]
#[inline(never)]
pub fn fastrace_nested3() {
    fastrace_mid();
}

#[fastrace::trace]
#[inline(never)]
fn fastrace_mid() {
    fastrace_span();
}

/// A `#[fastrace::trace]` root over [`TREE_CHILDREN`] traced children: 100 spans per call.
#[fastrace::trace]
#[inline(never)]
pub fn fastrace_tree100() {
    for _ in 0..black_box(TREE_CHILDREN) {
        fastrace_span();
    }
}

// ---------------------------------------------------------------------------------------------------
// tracing
// ---------------------------------------------------------------------------------------------------

/// `#[tracing::instrument]` on an empty function.
#[tracing::instrument]
#[inline(never)]
pub fn tracing_span() {
    black_box(());
}

/// Three nested `#[tracing::instrument]` functions.
#[tracing::instrument]
#[inline(never)]
pub fn tracing_nested3() {
    tracing_mid();
}

#[tracing::instrument]
#[inline(never)]
fn tracing_mid() {
    tracing_span();
}

/// An `#[instrument]` root over [`TREE_CHILDREN`] instrumented children: 100 spans per call.
#[tracing::instrument]
#[inline(never)]
pub fn tracing_tree100() {
    for _ in 0..black_box(TREE_CHILDREN) {
        tracing_span();
    }
}

/// A dispatcher with a bare `tracing_subscriber` registry (the base every `tracing` layer stack sits on).
pub fn tracing_registry() -> tracing::Dispatch {
    tracing::Dispatch::new(tracing_subscriber::registry())
}

// ---------------------------------------------------------------------------------------------------
// events: telem, tracing, log (the criterion group `events` and the callgrind driver)
// ---------------------------------------------------------------------------------------------------
//
// Every library records the same event: level info, name `bench.event`, two scalar fields
// `n = 7_i64` and `ok = true` (black-boxed, so no case can fold them), no message. The below-level
// cases record the same at debug, below each library's minimum level (telem's default `Info`, the
// fmt subscriber's default INFO, env_logger filtered at Info). Each is one `#[inline(never)]` call,
// like [`plain`], so the difference to `plain` is what the library adds.

/// `telem::info!` with two scalar fields and no message (both fields inline in the record: no
/// allocation). Inside a span when one is current, else a log record without trace context.
#[inline(never)]
pub fn telem_event2() {
    telem::info!("bench.event", n = black_box(7_i64), ok = black_box(true));
}

/// The same at `debug`, below telem's default minimum level `Info`.
#[inline(never)]
pub fn telem_event_below() {
    telem::debug!("bench.event", n = black_box(7_i64), ok = black_box(true));
}

/// `#[telem::span]` around the same event: a span and its event per call.
#[telem::span]
#[inline(never)]
pub fn telem_span_event2() {
    telem::info!("bench.event", n = black_box(7_i64), ok = black_box(true));
}

/// Opens a manual span (`telem::Span::start`) and makes it current while `f` runs: the event cases
/// "inside a span" run their whole measured loop under this one span, so the loop times the event
/// alone (reading the current span's ids is part of it), not a span per event.
pub fn in_span<R>(f: impl FnOnce() -> R) -> R {
    let mut span = telem::Span::start("bench.parent");
    let entered = span.enter();
    let r = f();
    drop(entered);
    span.end();
    r
}

/// `tracing::info!` with the same two fields, named like telem's.
#[inline(never)]
pub fn tracing_event2() {
    tracing::info!(name: "bench.event", n = black_box(7_i64), ok = black_box(true));
}

/// The same at `debug`, below the fmt subscriber's default maximum level INFO.
#[inline(never)]
pub fn tracing_event_below() {
    tracing::debug!(name: "bench.event", n = black_box(7_i64), ok = black_box(true));
}

/// A dispatcher with `tracing_subscriber::fmt()` (a registry + the fmt layer, default format:
/// timestamp, level, target, fields; default maximum level INFO; no ANSI colours) writing to
/// `std::io::sink`.
pub fn tracing_fmt_sink() -> tracing::Dispatch {
    tracing::Dispatch::new(tracing_subscriber::fmt().with_writer(std::io::sink).finish())
}

/// `log::info!` with the same two fields as key-values (`log`'s `kv`), the name as its message.
#[inline(never)]
pub fn log_event2() {
    log::info!(n = black_box(7_i64), ok = black_box(true); "bench.event");
}

/// The same at `debug`, below env_logger's `Info` filter.
#[inline(never)]
pub fn log_event_below() {
    log::debug!(n = black_box(7_i64), ok = black_box(true); "bench.event");
}

/// Installs env_logger as `log`'s global logger (once per process: `log` has one): filter `Info`,
/// the default format (timestamp, level, target, message, key-values), no colours, into
/// `std::io::sink` (`Target::Pipe`). The environment (`RUST_LOG`) is not read.
pub fn env_logger_sink() {
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .write_style(env_logger::WriteStyle::Never)
        .target(env_logger::Target::Pipe(Box::new(std::io::sink())))
        .try_init()
        .expect("no other global logger in telem-bench");
}

// ---------------------------------------------------------------------------------------------------
// process CPU time
// ---------------------------------------------------------------------------------------------------

/// CPU time consumed so far by every thread of this process (user + system).
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_PROCESS_CPUTIME_ID is always supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time consumed so far by every thread of this process (user + system), from
/// `getrusage(RUSAGE_SELF)`.
pub fn rusage_cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid out-pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_SELF) failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// This process's resident memory (`VmRSS` in `/proc/self/status`), in KiB.
pub fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------------
// OpenTelemetry: the SDK directly, and tracing + registry + tracing-opentelemetry
// ---------------------------------------------------------------------------------------------------

/// Spans the OpenTelemetry null exporter has received in this process.
pub static OTEL_EXPORTED: AtomicU64 = AtomicU64::new(0);

/// An OpenTelemetry SDK span exporter that discards every batch, after counting it in [`OTEL_EXPORTED`].
#[derive(Debug, Default)]
pub struct OtelNull;

impl opentelemetry_sdk::trace::SpanExporter for OtelNull {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        OTEL_EXPORTED.fetch_add(black_box(batch.len()) as u64, Ordering::Relaxed);
        std::future::ready(Ok(()))
    }
}

/// An SDK tracer provider with the default sampler (parent-based, always on) and a batch span processor
/// (default configuration: 2 048-span queue, its own thread) into [`OtelNull`]. Call `shutdown()` on it
/// to export what is queued and stop its thread.
pub fn otel_provider() -> opentelemetry_sdk::trace::SdkTracerProvider {
    opentelemetry_sdk::trace::SdkTracerProvider::builder().with_batch_exporter(OtelNull).build()
}

/// The same with a batch queue of `spans`: for counting instructions under valgrind, which runs one
/// thread at a time, so the processor's thread may not run until shutdown and a default queue would
/// drop (and so skip the work of) all but 2 048 spans.
pub fn otel_provider_with_queue(spans: usize) -> opentelemetry_sdk::trace::SdkTracerProvider {
    use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};
    let config = BatchConfigBuilder::default().with_max_queue_size(spans).build();
    let processor = BatchSpanProcessor::builder(OtelNull).with_batch_config(config).build();
    opentelemetry_sdk::trace::SdkTracerProvider::builder().with_span_processor(processor).build()
}

/// A tracer of `provider`.
pub fn otel_tracer(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> opentelemetry_sdk::trace::Tracer {
    use opentelemetry::trace::TracerProvider as _;
    provider.tracer("telem-bench")
}

/// An empty function inside an OpenTelemetry SDK span made current for its duration
/// (`tracer.in_span`, the SDK's counterpart of an instrumented function).
#[inline(never)]
pub fn otel_span(tracer: &opentelemetry_sdk::trace::Tracer) {
    use opentelemetry::trace::Tracer as _;
    tracer.in_span("otel_span", |_cx| black_box(()));
}

/// A dispatcher with a `tracing_subscriber` registry and a `tracing-opentelemetry` layer over a tracer of
/// `provider`: every `#[instrument]` span becomes an OpenTelemetry SDK span.
pub fn tracing_otel(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> tracing::Dispatch {
    use tracing_subscriber::layer::SubscriberExt as _;
    let layer = tracing_opentelemetry::layer().with_tracer(otel_tracer(provider));
    tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
}

// ---------------------------------------------------------------------------------------------------
// two threads contending
// ---------------------------------------------------------------------------------------------------

/// Two long-lived threads that run the same measured loop at the same moment: every `run(iters)` has
/// each of them call its loop with `iters` after meeting at a barrier, and returns the slower one's
/// wall time. The threads live as long as the `Pair`, so ring allocation and first-touch page faults
/// land in criterion's warm-up, not in the samples.
pub struct Pair {
    jobs: Vec<mpsc::Sender<u64>>,
    done: mpsc::Receiver<Duration>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Pair {
    /// Starts the two threads. Each first calls `setup` and keeps what it returns (a tracing default
    /// guard, say) until the pair drops; `run(iters)` is the timed loop, returning its own wall time.
    pub fn start<S, R>(setup: S, run: R) -> Pair
    where
        S: Fn() -> Box<dyn std::any::Any> + Send + Sync + 'static,
        R: Fn(u64) -> Duration + Send + Sync + 'static,
    {
        let (setup, run) = (Arc::new(setup), Arc::new(run));
        let barrier = Arc::new(Barrier::new(2));
        let (done_tx, done) = mpsc::channel();
        let mut jobs = Vec::new();
        let mut threads = Vec::new();
        for i in 0..2 {
            let (tx, rx) = mpsc::channel::<u64>();
            let (setup, run, barrier, done_tx) = (setup.clone(), run.clone(), barrier.clone(), done_tx.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("bench-pair-{i}"))
                    .spawn(move || {
                        let _keep = setup();
                        for iters in rx {
                            barrier.wait();
                            let _ = done_tx.send(run(iters));
                        }
                    })
                    .expect("spawn a bench thread"),
            );
            jobs.push(tx);
        }
        Pair { jobs, done, threads }
    }

    /// Runs `iters` calls on both threads at once; the slower thread's wall time.
    pub fn run(&self, iters: u64) -> Duration {
        for job in &self.jobs {
            job.send(iters).expect("bench thread alive");
        }
        let a = self.done.recv().expect("bench thread result");
        let b = self.done.recv().expect("bench thread result");
        a.max(b)
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.jobs.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Nothing to set up on a [`Pair`] thread.
pub fn no_setup() -> Box<dyn std::any::Any> {
    Box::new(())
}

/// Times `iters` calls of `f` with the wall clock.
#[inline(always)]
pub fn wall(iters: u64, f: impl Fn()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------------------
// where results go
// ---------------------------------------------------------------------------------------------------

/// The cargo target directory: `$CARGO_TARGET_DIR`, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"),
    }
}

/// Where the harness binaries leave their results for `report`: `$TELEM_BENCH_RESULTS`, else
/// `<target dir>/telem-bench`. Created if missing.
pub fn results_dir() -> PathBuf {
    let dir =
        std::env::var_os("TELEM_BENCH_RESULTS").map(PathBuf::from).unwrap_or_else(|| target_dir().join("telem-bench"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Parses a span count such as `20000000`, `20_000_000` or `20M`.
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    let (digits, scale) = match s.strip_suffix(['M', 'm']) {
        Some(d) => (d, 1_000_000),
        None => match s.strip_suffix(['K', 'k']) {
            Some(d) => (d, 1_000),
            None => (s.as_str(), 1),
        },
    };
    digits.parse::<u64>().ok().map(|n| n * scale)
}

/// Prints a harness's markdown to stdout and leaves it, with its figures as JSON, in the results dir
/// (`<name>.md`, `<name>.json`) for `report` to gather.
pub fn emit(name: &str, markdown: &str, figures: &serde_json::Value) {
    print!("{markdown}");
    let dir = results_dir();
    let md = dir.join(format!("{name}.md"));
    let json = dir.join(format!("{name}.json"));
    let written = std::fs::write(&md, markdown)
        .and_then(|()| std::fs::write(&json, serde_json::to_string_pretty(figures).unwrap_or_default()));
    match written {
        Ok(()) => eprintln!("[telem-bench] {name}: results in {} and {}", md.display(), json.display()),
        Err(e) => eprintln!("[telem-bench] {name}: cannot write results to {}: {e}", dir.display()),
    }
}

/// The measured loop of the harnesses: `n` calls of `f`.
#[inline(never)]
pub fn hot_loop(n: u64, f: fn()) {
    for _ in 0..black_box(n) {
        f();
    }
}

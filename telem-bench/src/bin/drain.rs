//! Collector drain rate, and the local store's write rate: how fast spans move from a thread's ring
//! into an exporter, and how fast the store exporter writes them.
//!
//! ```text
//! cargo run -p telem-bench --release --bin drain -- [N_NULL] [N_STORE] [REPEATS]    # defaults 4M, 2M, 5
//! ```
//!
//! Each run starts telem with a ring large enough to hold all N spans without reaching the
//! quarter-full mark where the producer wakes the collector and a one-hour flush interval (so the
//! collector does not wake on its own); records N spans on a fresh thread (a new thread gets a ring of
//! the configured size) and lets it exit; then times `shutdown()`, which wakes the collector, drains the
//! ring into batches, hands them to the exporter's thread and waits until the exporter has taken every
//! one. The end-to-end rate is spans exported / that time; the exporter's queue is made large enough
//! that nothing is dropped for lack of room (every drop is reported).
//!
//! Cases: a null exporter that discards (empty `#[telem::span]`s, and spans of three attributes: what
//! the collector and the freeing of the spans' extras cost without any exporter work); the local store (`Store`, format v2,
//! into a temporary directory, page cache, no fsync) with empty spans and with spans of three attributes
//! (`u64`, `&'static str`, `bool`). For the store the exporter's own rate is measured too: spans / the
//! time spent inside `Store::export` (a wrapper times each call on the exporter's thread), which is what
//! the store costs whatever the collector and the queue do. Each case runs REPEATS times; the median and
//! the worst run are reported, and every run is listed.

use serde_json::json;
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telem_bench as b;

/// Three attributes set on every span, the shape of the store's second target (≥ 5 M spans/s).
#[telem::span(fields(user_id = 42u64, route = "/checkout", cached = true))]
#[inline(never)]
fn span_3attrs() {
    black_box(());
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Null,
    Null3,
    Store,
    Store3,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Null => "null",
            Case::Null3 => "null_3attrs",
            Case::Store => "store",
            Case::Store3 => "store_3attrs",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Case::Null => "null exporter, empty spans",
            Case::Null3 => "null exporter, 3 attributes per span",
            Case::Store => "store v2, empty spans",
            Case::Store3 => "store v2, 3 attributes per span",
        }
    }
}

/// The store exporter, timed: adds the wall-clock and the thread-CPU nanoseconds each `export` took to
/// shared counters. On a shared machine the exporter's thread may be preempted inside `export`; its CPU
/// time leaves that out (and also leaves out time blocked in `write`, which the wall clock keeps).
struct Timed {
    inner: telem::exporters::Store,
    busy_ns: Arc<AtomicU64>,
    cpu_ns: Arc<AtomicU64>,
}

/// CPU time of the calling thread.
fn thread_cpu_ns() -> u64 {
    // SAFETY: an all-zero `timespec` is a valid value of the plain C struct.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl telem::Exporter for Timed {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        let (start, cpu) = (Instant::now(), thread_cpu_ns());
        let result = self.inner.export(batch);
        self.cpu_ns.fetch_add(thread_cpu_ns() - cpu, Ordering::Relaxed);
        self.busy_ns.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        result
    }

    fn flush(&mut self) -> Result<(), telem::ExportError> {
        self.inner.flush()
    }

    fn shutdown(&mut self) -> Result<(), telem::ExportError> {
        self.inner.shutdown()
    }
}

struct Drain {
    n: u64,
    /// Spans still in the ring when the timed drain started (normally all N).
    in_rings: u64,
    secs: f64,
    cpu_secs: f64,
    exported: u64,
    dropped: u64,
    drained: bool,
    /// Bytes the store wrote (store only).
    bytes: u64,
    /// Time spent inside the store's `export` (store only).
    export_secs: f64,
    /// CPU time of the exporter's thread inside `export` (store only).
    export_cpu_secs: f64,
}

impl Drain {
    fn rate(&self) -> f64 {
        self.exported as f64 / self.secs
    }

    fn export_rate(&self) -> f64 {
        self.exported as f64 / self.export_secs
    }

    fn export_cpu_rate(&self) -> f64 {
        self.exported as f64 / self.export_cpu_secs
    }
}

fn run(case: Case, n: u64) -> Drain {
    // Four times N, rounded up to a power of two: the producer wakes the collector once a quarter of
    // the ring is sealed, so with this capacity it never does.
    let capacity = (4 * n + 4).next_power_of_two() as usize;
    let store_dir = std::env::temp_dir().join(format!("telem-bench-drain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store_dir);
    let busy_ns = Arc::new(AtomicU64::new(0));
    let cpu_ns = Arc::new(AtomicU64::new(0));
    let builder = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .ring_capacity(capacity)
        .flush_interval(Duration::from_secs(3600))
        .queue_capacity(2 * n as usize)
        .shutdown_timeout(Duration::from_secs(600));
    let builder = match case {
        Case::Null | Case::Null3 => builder.with_exporter("null", b::Null),
        Case::Store | Case::Store3 => {
            let inner = telem::exporters::Store::open(&store_dir).expect("open a store in the temporary directory");
            builder.with_exporter("store", Timed { inner, busy_ns: busy_ns.clone(), cpu_ns: cpu_ns.clone() })
        }
    };
    let telem = builder.init();
    // A flush makes the collector run one pass now and then sleep for the flush interval: it is not
    // woken while the producer runs (a collector thread that first ran in the middle of the burst would
    // find a ring filling up and start draining alongside the producer).
    telem::flush();
    let span: fn() = if matches!(case, Case::Null3 | Case::Store3) { span_3attrs } else { b::telem_span };
    std::thread::Builder::new()
        .name("drain-producer".into())
        .spawn(move || b::hot_loop(n, span))
        .expect("spawn the producer")
        .join()
        .expect("producer finished");
    let name = if matches!(case, Case::Null | Case::Null3) { "null" } else { "store" };
    let before = telem::stats();
    let exported_before = before.exporter(name).map_or(0, |e| e.exported);
    let (busy_before, cpu_before) = (busy_ns.load(Ordering::Relaxed), cpu_ns.load(Ordering::Relaxed));
    let cpu0 = b::rusage_cpu_time();
    let start = Instant::now();
    let drained = telem.shutdown();
    let secs = start.elapsed().as_secs_f64();
    let cpu_secs = (b::rusage_cpu_time() - cpu0).as_secs_f64();
    let after = telem::stats();
    let e = after.exporter(name).cloned().unwrap_or_default();
    let bytes = std::fs::read_dir(&store_dir)
        .map(|d| d.flatten().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&store_dir);
    Drain {
        n,
        in_rings: before.in_rings,
        secs,
        cpu_secs,
        exported: e.exported - exported_before,
        dropped: e.dropped,
        drained,
        bytes,
        export_secs: (busy_ns.load(Ordering::Relaxed) - busy_before) as f64 / 1e9,
        export_cpu_secs: (cpu_ns.load(Ordering::Relaxed) - cpu_before) as f64 / 1e9,
    }
}

/// The runs of one case, sorted by end-to-end rate (slowest first).
struct Runs {
    case: Case,
    runs: Vec<Drain>,
}

impl Runs {
    fn median(&self) -> &Drain {
        &self.runs[self.runs.len() / 2]
    }

    /// Median and worst of a figure of each run (higher is better).
    fn median_worst(&self, figure: impl Fn(&Drain) -> f64) -> (f64, f64) {
        let mut v: Vec<f64> = self.runs.iter().map(figure).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0])
    }

    fn list(&self, figure: impl Fn(&Drain) -> f64) -> String {
        self.runs.iter().map(|d| format!("{:.1}", figure(d) / 1e6)).collect::<Vec<_>>().join(", ")
    }
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| b::parse_count(&a).expect("a count such as 4000000 or 4M"));
    let n_null = args.next().unwrap_or(4_000_000);
    let n_store = args.next().unwrap_or(2_000_000);
    let repeats = args.next().unwrap_or(5).max(1) as usize;
    let cases = [
        (Case::Null, n_null, 3),
        (Case::Null3, n_store, 3),
        (Case::Store, n_store, repeats),
        (Case::Store3, n_store, repeats),
    ];
    let all: Vec<Runs> = cases
        .iter()
        .map(|&(case, n, repeats)| {
            let mut runs: Vec<Drain> = (0..repeats).map(|_| run(case, n)).collect();
            runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            Runs { case, runs }
        })
        .collect();

    let mut md = String::new();
    let _ = writeln!(md, "### Collector drain rate\n");
    let _ = writeln!(
        md,
        "N spans recorded on one thread into a ring that holds them all (no wake-up), then `shutdown()` timed: \
         ring → collector → batches → the exporter's thread, until the exporter has taken every span. \
         The median run of each case:\n"
    );
    let _ = writeln!(md, "| exporter | N | in rings at start | drain time | M spans/s | CPU ns/span (all threads) | exported | dropped | drained |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut figures = serde_json::Map::new();
    for r in &all {
        let d = r.median();
        let _ = writeln!(
            md,
            "| {} (runs: {} M/s) | {} | {} | {:.3} s | {:.2} | {:.1} | {} | {} | {} |",
            r.case.what(),
            r.list(Drain::rate),
            d.n,
            d.in_rings,
            d.secs,
            d.rate() / 1e6,
            d.cpu_secs * 1e9 / d.exported.max(1) as f64,
            d.exported,
            d.dropped,
            d.drained,
        );
        let (rate_median, rate_worst) = r.median_worst(Drain::rate);
        let mut f = json!({
            "n": d.n, "in_rings": d.in_rings, "secs": d.secs, "spans_per_sec": rate_median,
            "spans_per_sec_worst": rate_worst, "runs": r.runs.len(),
            "cpu_ns_per_span": d.cpu_secs * 1e9 / d.exported.max(1) as f64,
            "exported": d.exported, "dropped": d.dropped, "drained": d.drained, "bytes": d.bytes,
        });
        if matches!(r.case, Case::Store | Case::Store3) {
            let (export_median, export_worst) = r.median_worst(Drain::export_rate);
            f["export_spans_per_sec"] = json!(export_median);
            f["export_spans_per_sec_worst"] = json!(export_worst);
            let (cpu_median, cpu_worst) = r.median_worst(Drain::export_cpu_rate);
            f["export_cpu_spans_per_sec"] = json!(cpu_median);
            f["export_cpu_spans_per_sec_worst"] = json!(cpu_worst);
            f["bytes_per_span"] = json!(d.bytes as f64 / d.exported.max(1) as f64);
        }
        figures.insert(r.case.name().to_owned(), f);
    }
    let _ = writeln!(
        md,
        "\nThe store exporter (format v2, page cache, no fsync), median and worst of {repeats} runs: its own rate is \
         spans / time inside `Store::export` on its thread (wall clock, and that thread's CPU time, which leaves out \
         preemption on a shared machine); end to end is the drain above.\n"
    );
    let _ = writeln!(md, "| spans | exporter's own M spans/s, wall (median / worst) | own, CPU time (median / worst) | end to end M spans/s (median / worst) | bytes/span | MB/s written (median run) | own rate (wall), every run |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---|");
    for r in all.iter().filter(|r| matches!(r.case, Case::Store | Case::Store3)) {
        let (own, own_worst) = r.median_worst(Drain::export_rate);
        let (cpu, cpu_worst) = r.median_worst(Drain::export_cpu_rate);
        let (e2e, e2e_worst) = r.median_worst(Drain::rate);
        let d = r.median();
        let per_span = d.bytes as f64 / d.exported.max(1) as f64;
        let _ = writeln!(
            md,
            "| {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {per_span:.1} | {:.0} | {} |",
            r.case.what(),
            own / 1e6,
            own_worst / 1e6,
            cpu / 1e6,
            cpu_worst / 1e6,
            e2e / 1e6,
            e2e_worst / 1e6,
            d.bytes as f64 / 1e6 / d.export_secs,
            r.list(Drain::export_rate),
        );
    }
    let worst = all.iter().flat_map(|r| &r.runs).find(|d| d.dropped > 0 || !d.drained || d.exported != d.n);
    if let Some(d) = worst {
        let _ = writeln!(
            md,
            "\n**Not every span was exported in every run** (e.g. {} of {}, {} dropped).",
            d.exported, d.n, d.dropped
        );
    }
    md.push('\n');
    b::emit("drain", &md, &serde_json::Value::Object(figures));
}

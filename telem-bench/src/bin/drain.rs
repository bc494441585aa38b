//! Collector drain rate: how fast spans move from a thread's ring into an exporter.
//!
//! ```text
//! cargo run -p telem-bench --release --bin drain -- [N_NULL] [N_STORE]    # defaults 4M and 1M
//! ```
//!
//! For each exporter (a null exporter that discards, then the local store writing JSON lines into a
//! temporary directory): start telem with a ring large enough to hold all N spans without reaching the
//! quarter-full mark where the producer wakes the collector and a one-hour flush interval (so the
//! collector does not wake on its own); record N empty `#[telem::span]` calls on a fresh thread (a
//! new thread gets a ring of the configured size) and let it exit; then time `shutdown()`, which wakes
//! the collector, drains the ring into batches, hands them to the exporter's thread and waits until
//! the exporter has taken every one. The rate is spans exported / that time; the exporter's queue is
//! made large enough that nothing is dropped for lack of room (every drop is reported).

use serde_json::json;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use telem_bench as b;

struct Drain {
    exporter: &'static str,
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
}

fn run(exporter: &'static str, n: u64) -> Drain {
    // Four times N, rounded up to a power of two: the producer wakes the collector once a quarter of
    // the ring is sealed, so with this capacity it never does.
    let capacity = (4 * n + 4).next_power_of_two() as usize;
    let store_dir = std::env::temp_dir().join(format!("telem-bench-drain-{}", std::process::id()));
    let builder = telem::Builder::new()
        .exporter("console", false)
        .ring_capacity(capacity)
        .flush_interval(Duration::from_secs(3600))
        .queue_capacity(2 * n as usize)
        .shutdown_timeout(Duration::from_secs(600));
    let builder = match exporter {
        "null" => builder.exporter("store", false).with_exporter("null", b::Null),
        _ => builder.exporter("store", true).store_dir(&store_dir),
    };
    let telem = builder.init();
    // A flush makes the collector run one pass now and then sleep for the flush interval: it is not
    // woken while the producer runs (a collector thread that first ran in the middle of the burst would
    // find a ring filling up and start draining alongside the producer).
    telem::flush();
    std::thread::Builder::new()
        .name("drain-producer".into())
        .spawn(move || b::hot_loop(n, b::telem_span))
        .expect("spawn the producer")
        .join()
        .expect("producer finished");
    let before = telem::stats();
    let exported_before = before.exporter(exporter).map_or(0, |e| e.exported);
    let cpu0 = b::rusage_cpu_time();
    let start = Instant::now();
    let drained = telem.shutdown();
    let secs = start.elapsed().as_secs_f64();
    let cpu_secs = (b::rusage_cpu_time() - cpu0).as_secs_f64();
    let after = telem::stats();
    let e = after.exporter(exporter).cloned().unwrap_or_default();
    let bytes = std::fs::read_dir(&store_dir)
        .map(|d| d.flatten().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&store_dir);
    Drain {
        exporter,
        n,
        in_rings: before.in_rings,
        secs,
        cpu_secs,
        exported: e.exported - exported_before,
        dropped: e.dropped,
        drained,
        bytes,
    }
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| b::parse_count(&a).expect("a span count such as 4000000 or 4M"));
    let n_null = args.next().unwrap_or(4_000_000);
    let n_store = args.next().unwrap_or(1_000_000);
    // The null drain takes a tenth of a second: three runs, the median reported, all shown.
    let mut nulls: Vec<Drain> = (0..3).map(|_| run("null", n_null)).collect();
    nulls.sort_by(|a, b| (a.exported as f64 / a.secs).total_cmp(&(b.exported as f64 / b.secs)));
    let null_runs: Vec<String> = nulls.iter().map(|d| format!("{:.1}", d.exported as f64 / d.secs / 1e6)).collect();
    let runs = [nulls.swap_remove(1), run("store", n_store)];

    let mut md = String::new();
    let _ = writeln!(md, "### Collector drain rate\n");
    let _ = writeln!(
        md,
        "N spans recorded on one thread into a ring that holds them all (no wake-up), then `shutdown()` timed: \
         ring → collector → batches → the exporter's thread, until the exporter has taken every span.\n"
    );
    let _ = writeln!(md, "| exporter | N | in rings at start | drain time | M spans/s | CPU ns/span (all threads) | exported | dropped | drained |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut figures = serde_json::Map::new();
    for d in &runs {
        let rate = d.exported as f64 / d.secs;
        let extra = if d.exporter == "null" {
            format!(" (median of 3 runs: {} M/s)", null_runs.join(", "))
        } else if d.bytes > 0 {
            format!(
                " ({:.0} MB of JSON lines, {:.0} MB/s, page cache, no fsync)",
                d.bytes as f64 / 1e6,
                d.bytes as f64 / 1e6 / d.secs
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "| {}{extra} | {} | {} | {:.3} s | {:.2} | {:.1} | {} | {} | {} |",
            d.exporter,
            d.n,
            d.in_rings,
            d.secs,
            rate / 1e6,
            d.cpu_secs * 1e9 / d.exported.max(1) as f64,
            d.exported,
            d.dropped,
            d.drained,
        );
        figures.insert(
            d.exporter.to_owned(),
            json!({
                "n": d.n, "in_rings": d.in_rings, "secs": d.secs, "spans_per_sec": rate,
                "cpu_ns_per_span": d.cpu_secs * 1e9 / d.exported.max(1) as f64,
                "exported": d.exported, "dropped": d.dropped, "drained": d.drained, "bytes": d.bytes,
            }),
        );
    }
    md.push('\n');
    b::emit("drain", &md, &serde_json::Value::Object(figures));
}

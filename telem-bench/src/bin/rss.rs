//! Resident memory after 10 M and 100 M spans through the collector into a null exporter, default
//! settings: telem's memory must be bounded (flat), whatever the number of spans.
//!
//! ```text
//! cargo run -p telem-bench --release --bin rss -- [N_FIRST] [N_TOTAL]     # defaults 10M and 100M
//! ```
//!
//! One thread records empty `#[telem::span]` calls in steps of N_FIRST; after each step `telem::flush()`
//! makes the collector drain every ring and waits until the exporter has taken the batches, then
//! `VmRSS` is read from `/proc/self/status`. Flat means the reading after N_TOTAL spans is within
//! max(2 MiB, 2 %) of the reading after N_FIRST.

use serde_json::json;
use std::fmt::Write as _;
use telem_bench as b;

/// The margin within which two readings count as flat.
fn margin_kib(base: u64) -> u64 {
    (2 * 1024).max(base / 50)
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| b::parse_count(&a).expect("a span count such as 10000000 or 10M"));
    let step = args.next().unwrap_or(10_000_000);
    let total = args.next().unwrap_or(100_000_000).max(step);

    let before_init = b::vm_rss_kib();
    let telem = b::telem_start();
    let after_init = b::vm_rss_kib();
    let mut readings = Vec::new();
    let mut done = 0;
    while done < total {
        let n = step.min(total - done);
        b::hot_loop(n, b::telem_span);
        done += n;
        let flushed = telem::flush();
        readings.push((done, b::vm_rss_kib(), flushed));
    }
    let stats_before_shutdown = telem::stats();
    let drained = telem.shutdown();
    let stats = telem::stats();
    let sink = stats.exporter("null").cloned().unwrap_or_default();

    let first = readings[0].1;
    let last = readings.last().map_or(first, |r| r.1);
    let flat = last <= first + margin_kib(first);
    // The reading halfway: growth over the second half tells a leak (keeps growing) from a warm-up
    // (buffers and allocator arenas reaching their working size early on).
    let mid = readings.iter().rev().find(|r| r.0 <= total / 2).map_or(first, |r| r.1);
    let mib = |kib: u64| kib as f64 / 1024.0;

    let mut md = String::new();
    let _ = writeln!(md, "### Resident memory (VmRSS), default settings, null exporter\n");
    let _ = writeln!(md, "| after | VmRSS MiB |");
    let _ = writeln!(md, "|---|---:|");
    let _ = writeln!(md, "| start, before `init` | {:.1} |", mib(before_init));
    let _ = writeln!(md, "| `init` | {:.1} |", mib(after_init));
    for &(n, rss, flushed) in &readings {
        let note = if flushed { "" } else { " (flush timed out)" };
        let _ = writeln!(md, "| {} M spans, flushed{note} | {:.1} |", n / 1_000_000, mib(rss));
    }
    let _ = writeln!(
        md,
        "\nRSS after {} M spans − after {} M spans: {:+.1} MiB ({}; flat = within max(2 MiB, 2 %)); \
         over the second half ({} M → {} M spans): {:+.1} MiB. Spans: recorded {}, exported {}, ring_dropped {} ({:.3} %), null exporter dropped {}, in flight at the end {}, drained {drained} \
         (in rings before shutdown: {}).\n",
        total / 1_000_000,
        step / 1_000_000,
        mib(last) - mib(first),
        if flat { "flat" } else { "NOT flat" },
        readings.iter().rev().find(|r| r.0 <= total / 2).map_or(step, |r| r.0) / 1_000_000,
        total / 1_000_000,
        mib(last) - mib(mid),
        stats.recorded,
        sink.exported,
        stats.ring_dropped,
        100.0 * stats.ring_dropped as f64 / stats.recorded.max(1) as f64,
        sink.dropped,
        sink.in_flight,
        stats_before_shutdown.in_rings,
    );
    let figures = json!({
        "before_init_kib": before_init,
        "after_init_kib": after_init,
        "readings": readings.iter().map(|&(n, kib, flushed)| json!({"spans": n, "rss_kib": kib, "flushed": flushed})).collect::<Vec<_>>(),
        "first_spans": step, "first_kib": first,
        "total_spans": total, "last_kib": last, "mid_kib": mid,
        "flat": flat,
        "recorded": stats.recorded, "exported": sink.exported, "ring_dropped": stats.ring_dropped,
        "exporter_dropped": sink.dropped, "drained": drained,
    });
    b::emit("rss", &md, &figures);
}

//! Whole-process CPU per span and spans lost, under the same single-thread burst for each library:
//!
//! ```text
//! cargo run -p telem-bench --release --bin cpu -- [N] [N_SLOW]     # defaults 20M and 2M
//! ```
//!
//! Each case runs in a fresh child process (this binary re-run with `--case <case> <n>`), so no
//! library's background thread is alive during another's measurement. In the child: set up (telem
//! started, fastrace reporter installed, OpenTelemetry provider built), read `getrusage(RUSAGE_SELF)`
//! (user + system CPU of every thread, live or exited), run n calls of an empty instrumented function
//! on the main thread, drain (telem: until `shutdown()` returns; fastrace: until `fastrace::flush()`
//! returns; OpenTelemetry: `force_flush()` then `shutdown()` of the provider), read `getrusage`
//! again. CPU per span = the difference / spans recorded.
//!
//! | case | n | drained by |
//! |---|---|---|
//! | `floor` | N | nothing to drain: two `rdtsc` + one 64-byte TLS ring store |
//! | `telem` | N | `shutdown()`: default settings, one null exporter (console and store off) |
//! | `fastrace` | N | `fastrace::flush()`: discarding reporter, default `Config`, a sampled root per 1 000 spans |
//! | `tracing_registry` | N_SLOW | nothing: a registry keeps no finished spans |
//! | `otel_sdk` | N_SLOW | provider shutdown: batch span processor into a discarding exporter |
//! | `tracing_otel` | N_SLOW | provider shutdown: registry + tracing-opentelemetry layer, same provider |
//!
//! Spans lost: telem's own counters (`ring_dropped`, the exporter's `dropped`, and the check
//! `recorded == exported + dropped`); for fastrace and OpenTelemetry, spans created − spans their
//! reporter / exporter received.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use telem_bench as b;

/// (nanoseconds on CPU so far, name) for every thread of this process, by thread id.
fn thread_cpu() -> BTreeMap<u64, (u64, String)> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.flatten() {
        let path = task.path();
        let tid = task.file_name().to_string_lossy().parse::<u64>().ok();
        let cpu = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()));
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if let (Some(tid), Some(cpu)) = (tid, cpu) {
            out.insert(tid, (cpu, name.trim().to_owned()));
        }
    }
    out
}

/// CPU and wall time of one measured burst.
struct Timing {
    cpu: Duration,
    loop_wall: Duration,
    total_wall: Duration,
}

/// Times `run` (the recording loop) and then `drain`, with `getrusage` around both.
fn measure(run: impl FnOnce(), drain: impl FnOnce()) -> Timing {
    let cpu0 = b::rusage_cpu_time();
    let start = Instant::now();
    run();
    let loop_wall = start.elapsed();
    drain();
    let total_wall = start.elapsed();
    Timing { cpu: b::rusage_cpu_time() - cpu0, loop_wall, total_wall }
}

fn timing_json(t: &Timing, spans: u64) -> Value {
    json!({
        "spans": spans,
        "cpu_ns_per_span": t.cpu.as_nanos() as f64 / spans as f64,
        "wall_ns_per_span": t.loop_wall.as_nanos() as f64 / spans as f64,
        "total_wall_s": t.total_wall.as_secs_f64(),
    })
}

/// One case, in this (child) process.
fn child(case: &str, n: u64) -> Value {
    let mut out = match case {
        "floor" => timing_json(&measure(|| b::hot_loop(n, b::floor), || {}), n),
        "telem" => {
            let telem = b::telem_start();
            let mut threads = (BTreeMap::new(), BTreeMap::new());
            let mut at_end = None;
            let mut drained = false;
            let t = measure(
                || {
                    threads.0 = thread_cpu();
                    b::hot_loop(n, b::telem_span);
                    threads.1 = thread_cpu();
                    at_end = Some(telem::stats());
                },
                || drained = telem.shutdown(),
            );
            let stats = telem::stats();
            let sink = stats.exporter("null").cloned().unwrap_or_default();
            let mut out = timing_json(&t, stats.recorded.max(1));
            let own_dropped = sink.dropped - stats.ring_dropped;
            out["recorded"] = json!(stats.recorded);
            out["exported"] = json!(sink.exported);
            out["ring_dropped"] = json!(stats.ring_dropped);
            out["exporter_dropped"] = json!(own_dropped);
            out["lost"] = json!(stats.ring_dropped + own_dropped);
            out["created"] = json!(n);
            out["delivered"] = json!(sink.exported);
            out["exact"] = json!(stats.recorded == sink.exported + sink.dropped && sink.in_flight == 0);
            out["drained"] = json!(drained);
            out["in_rings_at_loop_end"] = json!(at_end.map_or(0, |s| s.in_rings));
            // CPU per span by thread during the loop (the shutdown drain not included). Names from
            // the later reading: a thread names itself once it runs.
            out["threads"] = threads
                .1
                .iter()
                .map(|(tid, (after, name))| {
                    let before = threads.0.get(tid).map_or(0, |t| t.0);
                    json!({"tid": tid, "name": name, "ns_per_span": after.saturating_sub(before) as f64 / n as f64})
                })
                .collect();
            out
        }
        "fastrace" => {
            b::fastrace_start();
            let mut roots = 0;
            let t = measure(|| roots = b::fastrace_loop(n, 1, b::fastrace_span), fastrace::flush);
            with_delivery(timing_json(&t, n), n + roots, b::FASTRACE_REPORTED.load(Ordering::Relaxed))
        }
        "tracing_registry" => {
            let _default = tracing::dispatcher::set_default(&b::tracing_registry());
            timing_json(&measure(|| b::hot_loop(n, b::tracing_span), || {}), n)
        }
        "otel_sdk" | "tracing_otel" => {
            let provider = b::otel_provider();
            let tracer = b::otel_tracer(&provider);
            let dispatch = b::tracing_otel(&provider);
            let drain = || {
                let _ = provider.force_flush();
                let _ = provider.shutdown();
            };
            let t = if case == "otel_sdk" {
                measure(
                    || {
                        for _ in 0..std::hint::black_box(n) {
                            b::otel_span(&tracer);
                        }
                    },
                    drain,
                )
            } else {
                measure(
                    || {
                        let _default = tracing::dispatcher::set_default(&dispatch);
                        b::hot_loop(n, b::tracing_span);
                    },
                    drain,
                )
            };
            with_delivery(timing_json(&t, n), n, b::OTEL_EXPORTED.load(Ordering::Relaxed))
        }
        other => {
            eprintln!("unknown case `{other}`");
            std::process::exit(2);
        }
    };
    out["case"] = json!(case);
    out
}

/// Adds what a library's own reporter or exporter received to a case's result: spans created,
/// delivered, and lost (the difference).
fn with_delivery(mut out: Value, created: u64, delivered: u64) -> Value {
    out["created"] = json!(created);
    out["delivered"] = json!(delivered);
    out["lost"] = json!(created.saturating_sub(delivered));
    out
}

const RESULT: &str = "CPU-RESULT ";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--case") {
        let (Some(case), Some(n)) = (args.get(1), args.get(2).and_then(|n| b::parse_count(n))) else {
            eprintln!("usage: cpu --case <case> <n>");
            std::process::exit(2);
        };
        println!("{RESULT}{}", child(case, n));
        return;
    }
    let n = args.first().and_then(|a| b::parse_count(a)).unwrap_or(20_000_000);
    let n_slow = args.get(1).and_then(|a| b::parse_count(a)).unwrap_or(2_000_000);
    let exe = std::env::current_exe().expect("the path of this executable");

    let cases: [(&str, u64, &str); 6] = [
        ("floor", n, "2× rdtsc + one 64 B TLS ring store"),
        ("telem", n, "#[telem::span], default settings, null exporter, until shutdown() returns"),
        ("fastrace", n, "#[fastrace::trace] under sampled roots, until fastrace::flush() returns"),
        ("tracing_registry", n_slow, "#[instrument] + registry (nothing to drain)"),
        ("otel_sdk", n_slow, "OpenTelemetry SDK span, batch processor, until provider shutdown"),
        ("tracing_otel", n_slow, "#[instrument] + registry + tracing-opentelemetry, until provider shutdown"),
    ];
    let run_case = |case: &str, count: u64| {
        eprintln!("[telem-bench] cpu: {case}, {count} spans");
        let output = std::process::Command::new(&exe).args(["--case", case, &count.to_string()]).output();
        let parsed = output.ok().and_then(|o| {
            if !o.status.success() {
                eprintln!("[telem-bench] cpu: {case} failed: {}", String::from_utf8_lossy(&o.stderr));
            }
            let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
            stdout.lines().find_map(|l| l.strip_prefix(RESULT).and_then(|j| serde_json::from_str::<Value>(j).ok()))
        });
        if parsed.is_none() {
            eprintln!("[telem-bench] cpu: no result for {case}");
        }
        parsed
    };
    let mut results: BTreeMap<&str, Value> = BTreeMap::new();
    for (case, count, _) in cases {
        if let Some(v) = run_case(case, count) {
            results.insert(case, v);
        }
    }
    // One burst says little on a shared machine (a vCPU taken away for milliseconds decides the losses):
    // telem's burst is repeated, each in a fresh process, and the spread is reported beside the first.
    let telem_runs: Vec<Value> = results
        .get("telem")
        .cloned()
        .into_iter()
        .chain((1..repeats()).filter_map(|_| run_case("telem", n)))
        .map(|v| json!({"cpu_ns_per_span": v["cpu_ns_per_span"], "lost": v["lost"], "recorded": v["recorded"], "exact": v["exact"]}))
        .collect();

    let cpu_of = |case: &str| results.get(case).and_then(|v| v["cpu_ns_per_span"].as_f64());
    let ratio =
        |v: f64, base: Option<f64>| base.filter(|b| *b > 0.0).map_or("–".to_owned(), |b| format!("{:.2}×", v / b));
    let mut md = String::new();
    let _ = writeln!(md, "### Whole-process CPU per span (getrusage, all threads, until drained)\n");
    let _ = writeln!(
        md,
        "One thread, one burst per case, each case in a fresh process; CPU = user + system time of every thread \
         from before the loop until the drain returned.\n"
    );
    let _ = writeln!(
        md,
        "| case | what | spans | CPU ns/span | loop wall ns/span | CPU ratio to floor | CPU ratio to telem | CPU ratio to fastrace | spans lost |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---|");
    for (case, count, what) in cases {
        let Some(v) = results.get(case) else {
            let _ = writeln!(md, "| {case} | {what} | {count} | (failed) | | | | | |");
            continue;
        };
        let cpu = v["cpu_ns_per_span"].as_f64().unwrap_or(f64::NAN);
        let lost = match (v["created"].as_u64(), v["lost"].as_u64()) {
            (Some(created), Some(lost)) => {
                format!("{lost} of {created} ({:.3} %)", 100.0 * lost as f64 / created.max(1) as f64)
            }
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {case} | {what} | {count} | {cpu:.1} | {:.1} | {} | {} | {} | {lost} |",
            v["wall_ns_per_span"].as_f64().unwrap_or(f64::NAN),
            ratio(cpu, cpu_of("floor")),
            ratio(cpu, cpu_of("telem")),
            ratio(cpu, cpu_of("fastrace")),
        );
    }
    if let Some(t) = results.get("telem") {
        let _ = writeln!(
            md,
            "\ntelem accounting: recorded {}, exported {}, ring_dropped {}, exporter dropped {}, \
             recorded = exported + dropped exactly: {}, drained (shutdown returned true): {}, in rings at loop end: {}.",
            t["recorded"], t["exported"], t["ring_dropped"], t["exporter_dropped"], t["exact"], t["drained"], t["in_rings_at_loop_end"],
        );
        let _ = writeln!(md, "\ntelem CPU per span by thread during the loop (shutdown drain not included):\n");
        let _ = writeln!(md, "| thread | ns/span |");
        let _ = writeln!(md, "|---|---:|");
        for th in t["threads"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "| {} {} | {:.2} |",
                th["tid"],
                th["name"].as_str().unwrap_or(""),
                th["ns_per_span"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    let spread = Spread::of(&telem_runs);
    if let Some(s) = &spread {
        let floor = cpu_of("floor");
        let _ = writeln!(
            md,
            "\ntelem over {} bursts of {n} spans (the one above and {} more, a fresh process each): CPU ns/span \
             min {:.1}, median {:.1}, max {:.1} (median {} the floor); spans lost per burst, in order: {} \
             (median {:.3} %, worst {:.3} %); recorded = exported + dropped exactly in every burst: {}.",
            s.runs,
            s.runs - 1,
            s.cpu[0],
            s.median_cpu(),
            s.cpu[s.runs - 1],
            ratio(s.median_cpu(), floor),
            s.lost_in_order.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "),
            s.median_lost_pct(),
            s.lost_pct[s.runs - 1],
            s.exact,
        );
    }
    md.push('\n');
    let mut out = json!(results);
    if let Some(s) = spread {
        out["telem_spread"] = json!({
            "runs": s.runs,
            "median_cpu_ns_per_span": s.median_cpu(),
            "median_lost_pct": s.median_lost_pct(),
            "worst_lost_pct": s.lost_pct[s.runs - 1],
            "exact": s.exact,
        });
    }
    b::emit("cpu", &md, &out);
}

/// How many telem bursts to run (`TELEM_BENCH_REPEATS`, default 5).
fn repeats() -> usize {
    std::env::var("TELEM_BENCH_REPEATS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1)
}

/// The spread of telem's repeated bursts: CPU and loss, each sorted.
struct Spread {
    runs: usize,
    cpu: Vec<f64>,
    lost_pct: Vec<f64>,
    lost_in_order: Vec<u64>,
    exact: bool,
}

impl Spread {
    fn of(runs: &[Value]) -> Option<Spread> {
        if runs.is_empty() {
            return None;
        }
        let sorted = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v
        };
        let lost_in_order: Vec<u64> = runs.iter().map(|r| r["lost"].as_u64().unwrap_or(0)).collect();
        Some(Spread {
            runs: runs.len(),
            cpu: sorted(runs.iter().map(|r| r["cpu_ns_per_span"].as_f64().unwrap_or(f64::NAN)).collect()),
            lost_pct: sorted(
                runs.iter()
                    .map(|r| {
                        100.0 * r["lost"].as_u64().unwrap_or(0) as f64
                            / r["recorded"].as_u64().unwrap_or(1).max(1) as f64
                    })
                    .collect(),
            ),
            lost_in_order,
            exact: runs.iter().all(|r| r["exact"].as_bool() == Some(true)),
        })
    }

    fn median_cpu(&self) -> f64 {
        self.cpu[self.runs / 2]
    }

    fn median_lost_pct(&self) -> f64 {
        self.lost_pct[self.runs / 2]
    }
}

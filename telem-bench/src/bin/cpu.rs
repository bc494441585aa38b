//! Whole-process CPU per span and spans lost, under the same burst for each library, quiet and beside
//! busy processes:
//!
//! ```text
//! cargo run -p telem-bench --release --bin cpu -- [N] [N_SLOW] [N_THREADS]   # defaults 20M, 2M, 1M
//! ```
//!
//! Each case runs in a fresh child process (this binary re-run with `--case <case> <n> [--hogs K]`), so
//! no library's background thread is alive during another's measurement. In the child: set up (telem
//! started, fastrace reporter installed, OpenTelemetry provider built), read `getrusage(RUSAGE_SELF)`
//! (user + system CPU of every thread, live or exited), run n calls of an empty instrumented function
//! (on the main thread, or split over 8 threads released together), drain (telem: until `shutdown()`
//! returns; fastrace: until `fastrace::flush()` returns; OpenTelemetry: `force_flush()` then
//! `shutdown()` of the provider), read `getrusage` again. CPU per span = the difference / spans
//! recorded.
//!
//! | case | n | drained by |
//! |---|---|---|
//! | `floor` | N | nothing to drain: two `rdtsc` + one 64-byte TLS ring store |
//! | `telem` | N | `shutdown()`: default settings, one null exporter (console and store off) |
//! | `telem_store` | N | `shutdown()`: default settings, the local store on (JSON lines into a temporary directory under the results directory, removed afterwards), console off, no other exporter |
//! | `telem_8threads` | N_THREADS | `shutdown()`: as `telem`, the spans split over 8 threads recording at once |
//! | `telem_8threads_store` | N_THREADS | `shutdown()`: as `telem_store`, over 8 threads |
//! | `fastrace` | N | `fastrace::flush()`: discarding reporter, default `Config`, a sampled root per 1 000 spans |
//! | `tracing_registry` | N_SLOW | nothing: a registry keeps no finished spans |
//! | `otel_sdk` | N_SLOW | provider shutdown: batch span processor into a discarding exporter |
//! | `tracing_otel` | N_SLOW | provider shutdown: registry + tracing-opentelemetry layer, same provider |
//!
//! Spans lost: telem's own counters (`ring_dropped`, the exporter's `dropped`, and the check
//! `recorded == exported + dropped` for every exporter, nothing in flight); for fastrace and
//! OpenTelemetry, spans created − spans their reporter / exporter received.
//!
//! **Stall mode** (`--hogs K` on a case; the parent runs every repeated case both ways): the child
//! starts K busy processes (this binary re-run with `--hog`, each pinned to one of the CPUs this process
//! may use and spinning) just before the first `getrusage` reading and kills them right after the
//! drain, so the burst and its drain compete with one busy process per core, as on a loaded host. The
//! hogs' CPU is not in the case's figure (`RUSAGE_SELF` counts this process only). A guard kills and
//! reaps them when dropped (also when a panic unwinds); each hog also dies with the process that started
//! it (`PR_SET_PDEATHSIG`), leaves if its parent changes, and stops on its own after two minutes.
//!
//! The parent runs every case once quietly (the first table), then `telem` and `telem_store` (N spans),
//! `fastrace` and `otel_sdk` (N_SLOW: fastrace's 20 M burst takes 13 s beside the hogs),
//! `telem_8threads` and `telem_8threads_store` (N_THREADS) `TELEM_BENCH_REPEATS` times (default 5)
//! quietly and as many times beside the hogs, the two interleaved, each in a fresh process, and reports
//! the median and the worst of each. `TELEM_BENCH_HOGS` sets K (default: the CPUs this process may use;
//! 0 skips the stall runs).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Barrier;
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

// ---------------------------------------------------------------------------------------------------
// busy processes (stall mode)
// ---------------------------------------------------------------------------------------------------

/// How long a hog spins if nobody stops it: a safety net only (the guard kills its hogs when the burst
/// is drained, and the kernel kills them when the process that started them dies).
const HOG_MAX: Duration = Duration::from_secs(120);
/// What a hog prints once it is pinned and about to spin.
const HOG_READY: &str = "HOG-READY";

/// The busy processes of the stall mode. Dropping the guard kills and reaps every one of them, also
/// when a panic unwinds past it.
struct Hogs {
    children: Vec<Child>,
}

impl Hogs {
    /// Starts `count` hogs (none for 0) and returns once each of them spins.
    fn start(count: usize) -> Hogs {
        let mut hogs = Hogs { children: Vec::with_capacity(count) };
        if count == 0 {
            return hogs;
        }
        let exe = std::env::current_exe().expect("the path of this executable");
        let parent = std::process::id().to_string();
        for i in 0..count {
            let child = Command::new(&exe)
                .args(["--hog", &i.to_string(), &HOG_MAX.as_secs().to_string(), &parent])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start a busy process");
            hogs.children.push(child);
        }
        for child in &mut hogs.children {
            let mut line = String::new();
            if let Some(out) = child.stdout.as_mut() {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            assert_eq!(line.trim(), HOG_READY, "a busy process did not start");
        }
        hogs
    }

    /// How many hogs there are.
    fn count(&self) -> usize {
        self.children.len()
    }

    /// Whether every hog is still running (none stopped early, so the burst ran beside all of them).
    fn all_alive(&mut self) -> bool {
        self.children.iter_mut().all(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}

/// A hog: pins itself to the `index`-th CPU this process may run on (modulo their number), says it is
/// ready, and spins until `max` has passed or its parent is gone.
fn hog(index: usize, max: Duration, parent: u32) {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this process, with valid pointers to local values.
    unsafe {
        // Killed by the kernel when the process that started it exits, however it exits.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut allowed) == 0 {
            let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &allowed)).collect();
            if !cpus.is_empty() {
                let mut one: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpus[index % cpus.len()], &mut one);
                libc::sched_setaffinity(0, size, &one);
            }
        }
    }
    // The parent may have died before the death signal was armed.
    if std::os::unix::process::parent_id() != parent {
        return;
    }
    println!("{HOG_READY}");
    let start = Instant::now();
    let mut x = index as u64 | 1;
    while start.elapsed() < max && std::os::unix::process::parent_id() == parent {
        for _ in 0..1_000_000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407));
        }
    }
}

/// The number of hogs for the stall runs: `TELEM_BENCH_HOGS`, else one per CPU this process may use.
fn hog_count() -> usize {
    std::env::var("TELEM_BENCH_HOGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

// ---------------------------------------------------------------------------------------------------
// one case, in a child process
// ---------------------------------------------------------------------------------------------------

/// CPU and wall time of one measured burst, and the hogs it ran beside.
struct Timing {
    cpu: Duration,
    loop_wall: Duration,
    total_wall: Duration,
    hogs: usize,
    hogs_alive: bool,
}

/// Times `run` (the recording loop) and then `drain`, with `getrusage` around both, beside `hogs`
/// busy processes (started before the first reading, killed after the last).
fn measure(hogs: usize, run: impl FnOnce(), drain: impl FnOnce()) -> Timing {
    let mut busy = Hogs::start(hogs);
    let cpu0 = b::rusage_cpu_time();
    let start = Instant::now();
    run();
    let loop_wall = start.elapsed();
    drain();
    let total_wall = start.elapsed();
    let cpu = b::rusage_cpu_time() - cpu0;
    let hogs_alive = busy.all_alive();
    let hogs = busy.count();
    drop(busy);
    Timing { cpu, loop_wall, total_wall, hogs, hogs_alive }
}

fn timing_json(t: &Timing, spans: u64) -> Value {
    json!({
        "spans": spans,
        "cpu_ns_per_span": t.cpu.as_nanos() as f64 / spans as f64,
        "wall_ns_per_span": t.loop_wall.as_nanos() as f64 / spans as f64,
        "total_wall_s": t.total_wall.as_secs_f64(),
        "hogs": t.hogs,
        "hogs_alive": t.hogs_alive,
    })
}

/// Threads of the `telem_8threads*` cases.
const THREADS: u64 = 8;

/// `n` calls of `f` split over `threads` threads that start together (a barrier) and are joined.
fn on_threads(n: u64, threads: u64, f: fn()) {
    let barrier = Barrier::new(threads as usize);
    std::thread::scope(|s| {
        for i in 0..threads {
            let calls = n / threads + u64::from(i < n % threads);
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                b::hot_loop(calls, f);
            });
        }
    });
}

/// Bytes in the files of `dir` (not recursive).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

/// A telem case: `n` spans (on this thread, or over [`THREADS`] threads), into the null exporter or the
/// local store, until `shutdown()` returns. Spans lost = those the measured exporter will never see.
fn telem_case(n: u64, threads: u64, store: bool, hogs: usize) -> Value {
    let store_dir = b::results_dir().join(format!("store-{}", std::process::id()));
    let builder = telem::Builder::new().exporter("console", false);
    let (telem, sink_name) = if store {
        let _ = std::fs::remove_dir_all(&store_dir);
        (builder.exporter("store", true).store_dir(&store_dir).init(), "store")
    } else {
        (builder.exporter("store", false).with_exporter("null", b::Null).init(), "null")
    };
    let mut threads_cpu = (BTreeMap::new(), BTreeMap::new());
    let mut at_end = None;
    let mut drained = false;
    let t = measure(
        hogs,
        || {
            threads_cpu.0 = thread_cpu();
            if threads == 1 {
                b::hot_loop(n, b::telem_span);
            } else {
                on_threads(n, threads, b::telem_span);
            }
            threads_cpu.1 = thread_cpu();
            at_end = Some(telem::stats());
        },
        || drained = telem.shutdown(),
    );
    let stats = telem::stats();
    let sink = stats.exporter(sink_name).cloned().unwrap_or_default();
    let mut out = timing_json(&t, stats.recorded.max(1));
    let own_dropped = sink.dropped.saturating_sub(stats.ring_dropped);
    out["recorded"] = json!(stats.recorded);
    out["exported"] = json!(sink.exported);
    out["dropped"] = json!(sink.dropped);
    out["ring_dropped"] = json!(stats.ring_dropped);
    out["exporter_dropped"] = json!(own_dropped);
    out["lost"] = json!(stats.ring_dropped + own_dropped);
    out["created"] = json!(n);
    out["delivered"] = json!(sink.exported);
    out["sink"] = json!(sink_name);
    // Every exporter: recorded = exported + dropped exactly, nothing left in flight.
    out["exact"] = json!(
        !stats.exporters.is_empty()
            && stats.exporters.iter().all(|e| stats.recorded == e.exported + e.dropped && e.in_flight == 0)
    );
    out["drained"] = json!(drained);
    out["in_rings_at_loop_end"] = json!(at_end.map_or(0, |s| s.in_rings));
    if store {
        out["store_bytes"] = json!(dir_bytes(&store_dir));
        let _ = std::fs::remove_dir_all(&store_dir);
    }
    // CPU per span by thread during the loop (the shutdown drain not included). Names from the later
    // reading: a thread names itself once it runs. Threads that exited before it are not listed.
    out["threads"] = threads_cpu
        .1
        .iter()
        .map(|(tid, (after, name))| {
            let before = threads_cpu.0.get(tid).map_or(0, |t| t.0);
            json!({"tid": tid, "name": name, "ns_per_span": after.saturating_sub(before) as f64 / n as f64})
        })
        .collect();
    out
}

/// One case, in this (child) process, beside `hogs` busy processes (0: quiet).
fn child(case: &str, n: u64, hogs: usize) -> Value {
    let mut out = match case {
        "floor" => timing_json(&measure(hogs, || b::hot_loop(n, b::floor), || {}), n),
        "telem" => telem_case(n, 1, false, hogs),
        "telem_store" => telem_case(n, 1, true, hogs),
        "telem_8threads" => telem_case(n, THREADS, false, hogs),
        "telem_8threads_store" => telem_case(n, THREADS, true, hogs),
        "fastrace" => {
            b::fastrace_start();
            let mut roots = 0;
            let t = measure(hogs, || roots = b::fastrace_loop(n, 1, b::fastrace_span), fastrace::flush);
            with_delivery(timing_json(&t, n), n + roots, b::FASTRACE_REPORTED.load(Ordering::Relaxed))
        }
        "tracing_registry" => {
            let _default = tracing::dispatcher::set_default(&b::tracing_registry());
            timing_json(&measure(hogs, || b::hot_loop(n, b::tracing_span), || {}), n)
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
                    hogs,
                    || {
                        for _ in 0..std::hint::black_box(n) {
                            b::otel_span(&tracer);
                        }
                    },
                    drain,
                )
            } else {
                measure(
                    hogs,
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

// ---------------------------------------------------------------------------------------------------
// the parent: every case once, then the repeated cases quiet and beside the hogs
// ---------------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--hog") => {
            let index = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
            let max = args.get(2).and_then(|a| a.parse().ok()).map_or(HOG_MAX, Duration::from_secs);
            let parent = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
            hog(index, max.min(HOG_MAX), parent);
            return;
        }
        Some("--case") => {
            // Killed with the parent harness, however it ends (and the hogs with this process).
            #[cfg(target_os = "linux")]
            // SAFETY: a plain system call on this process.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            }
            let (Some(case), Some(n)) = (args.get(1), args.get(2).and_then(|n| b::parse_count(n))) else {
                eprintln!("usage: cpu --case <case> <n> [--hogs K]");
                std::process::exit(2);
            };
            let hogs = match (args.get(3).map(String::as_str), args.get(4).and_then(|k| k.parse().ok())) {
                (Some("--hogs"), Some(k)) => k,
                _ => 0,
            };
            println!("{RESULT}{}", child(case, n, hogs));
            return;
        }
        _ => {}
    }
    let n = args.first().and_then(|a| b::parse_count(a)).unwrap_or(20_000_000);
    let n_slow = args.get(1).and_then(|a| b::parse_count(a)).unwrap_or(2_000_000);
    let n_threads = args.get(2).and_then(|a| b::parse_count(a)).unwrap_or(1_000_000);
    let exe = std::env::current_exe().expect("the path of this executable");
    let hogs = hog_count();

    let cases: [(&str, u64, &str); 6] = [
        ("floor", n, "2× rdtsc + one 64 B TLS ring store"),
        ("telem", n, "#[telem::span], default settings, null exporter, until shutdown() returns"),
        ("fastrace", n, "#[fastrace::trace] under sampled roots, until fastrace::flush() returns"),
        ("tracing_registry", n_slow, "#[instrument] + registry (nothing to drain)"),
        ("otel_sdk", n_slow, "OpenTelemetry SDK span, batch processor, until provider shutdown"),
        ("tracing_otel", n_slow, "#[instrument] + registry + tracing-opentelemetry, until provider shutdown"),
    ];
    let run_case = |case: &str, count: u64, hogs: usize| {
        eprintln!("[telem-bench] cpu: {case}, {count} spans, beside {hogs} busy processes");
        let output = Command::new(&exe)
            .args(["--case", case, &count.to_string(), "--hogs", &hogs.to_string()])
            .stdin(Stdio::null())
            .output();
        let parsed = output.ok().and_then(|o| {
            if !o.status.success() {
                eprintln!("[telem-bench] cpu: {case} failed: {}", String::from_utf8_lossy(&o.stderr));
            } else if !o.stderr.is_empty() {
                // What the library said (telem names why it dropped spans): into the run's log.
                eprint!("{}", String::from_utf8_lossy(&o.stderr));
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
        if let Some(v) = run_case(case, count, 0) {
            results.insert(case, v);
        }
    }

    // One burst says little on a shared machine (a vCPU taken away for milliseconds decides the losses):
    // these cases are repeated, each in a fresh process, quietly and beside the hogs, interleaved; the
    // first quiet run of a case in the table above counts as its first quiet repeat.
    let series_cases: [(&str, u64, &str); 6] = [
        ("telem", n, "#[telem::span], default settings, null exporter"),
        ("telem_store", n, "#[telem::span], default settings, the local store (JSON lines) as the only exporter"),
        ("fastrace", n_slow, "#[fastrace::trace] under sampled roots, discarding reporter"),
        ("otel_sdk", n_slow, "OpenTelemetry SDK span, batch processor, null exporter"),
        ("telem_8threads", n_threads, "#[telem::span] on 8 threads at once, null exporter"),
        ("telem_8threads_store", n_threads, "#[telem::span] on 8 threads at once, the local store"),
    ];
    let mut series: BTreeMap<&str, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for (case, count, _) in series_cases {
        let (mut quiet, mut stalled) = (Vec::new(), Vec::new());
        for r in 0..repeats() {
            let same_burst = cases.iter().any(|&(c, k, _)| c == case && k == count);
            match results.get(case).filter(|_| r == 0 && same_burst) {
                Some(first) => quiet.push(first.clone()),
                None => quiet.extend(run_case(case, count, 0)),
            }
            if hogs > 0 {
                stalled.extend(run_case(case, count, hogs));
            }
        }
        series.insert(case, (quiet, stalled));
    }

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

    let _ = writeln!(
        md,
        "\n### Spans lost, quiet and beside {hogs} busy processes (stall mode)\n\n\
         Each case {} times quietly and {} times beside {hogs} busy processes (one spinning process pinned to \
         each CPU, started just before the burst and killed after its drain; their CPU is not counted), \
         interleaved, a fresh process each run. Lost = spans the library's own exporter or reporter never \
         received (telem: ring drops + the exporter's own drops), of the spans created. CPU = whole-process \
         CPU per span until drained. `exact` = runs in which recorded = exported + dropped held exactly for \
         every exporter with nothing in flight.\n",
        repeats(),
        if hogs > 0 { repeats() } else { 0 },
    );
    let _ = writeln!(
        md,
        "| case | what | spans | beside | runs | lost, median | lost, worst | lost per run, in order | CPU ns/span, median (min–max) | exact |"
    );
    let _ = writeln!(md, "|---|---|---:|---|---:|---:|---:|---|---|---|");
    let mut summaries = serde_json::Map::new();
    for (case, count, what) in series_cases {
        let Some((quiet, stalled)) = series.get(case) else { continue };
        let mut both = serde_json::Map::new();
        for (mode, runs) in [("quiet", quiet), ("stall", stalled)] {
            if mode == "stall" && hogs == 0 {
                continue;
            }
            let Some(s) = Summary::of(runs) else {
                let _ = writeln!(md, "| {case} | {what} | {count} | {mode} | 0 | (no result) | | | | |");
                continue;
            };
            let beside = match mode {
                "quiet" => "nothing".to_owned(),
                _ if s.hogs_alive => format!("{hogs} busy"),
                _ => format!("{hogs} busy (one stopped early!)"),
            };
            let pct = |lost: u64| 100.0 * lost as f64 / s.created.max(1) as f64;
            let exact = if s.accounted { format!("{}/{}", s.exact, s.runs) } else { "–".to_owned() };
            let _ = writeln!(
                md,
                "| {case} | {what} | {count} | {beside} | {} | {} ({:.3} %) | {} ({:.3} %) | {} | {:.1} ({:.1}–{:.1}) | {exact} |",
                s.runs,
                s.median_lost(),
                pct(s.median_lost()),
                s.worst_lost(),
                pct(s.worst_lost()),
                s.lost_in_order.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "),
                s.median_cpu(),
                s.cpu[0],
                s.cpu[s.runs - 1],
            );
            both.insert(mode.to_owned(), s.json());
        }
        summaries.insert(case.to_owned(), Value::Object(both));
    }
    md.push('\n');

    let mut out = json!(results);
    out["hogs"] = json!(hogs);
    out["repeats"] = json!(repeats());
    out["series"] = Value::Object(summaries);
    out["runs"] = series.iter().map(|(case, (q, s))| (case.to_string(), json!({"quiet": q, "stall": s}))).collect();
    // The issue-3 verdicts read this: telem's quiet bursts.
    if let Some(s) = series.get("telem").and_then(|(quiet, _)| Summary::of(quiet)) {
        out["telem_spread"] = json!({
            "runs": s.runs,
            "median_cpu_ns_per_span": s.median_cpu(),
            "median_lost_pct": s.lost_pct(s.median_lost()),
            "worst_lost_pct": s.lost_pct(s.worst_lost()),
            "exact": s.exact == s.runs,
        });
    }
    b::emit("cpu", &md, &out);
}

/// How many times each repeated case runs quietly, and as many beside the hogs (`TELEM_BENCH_REPEATS`,
/// default 5).
fn repeats() -> usize {
    std::env::var("TELEM_BENCH_REPEATS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1)
}

/// The spread of a case's repeated bursts: losses (in order and sorted), CPU per span (sorted), and
/// how many runs kept the accounting exact.
struct Summary {
    runs: usize,
    created: u64,
    lost_in_order: Vec<u64>,
    lost: Vec<u64>,
    cpu: Vec<f64>,
    /// Whether the case reports telem's accounting at all.
    accounted: bool,
    exact: usize,
    hogs_alive: bool,
}

impl Summary {
    fn of(runs: &[Value]) -> Option<Summary> {
        if runs.is_empty() {
            return None;
        }
        let lost_in_order: Vec<u64> = runs.iter().map(|r| r["lost"].as_u64().unwrap_or(0)).collect();
        let mut lost = lost_in_order.clone();
        lost.sort_unstable();
        let mut cpu: Vec<f64> = runs.iter().map(|r| r["cpu_ns_per_span"].as_f64().unwrap_or(f64::NAN)).collect();
        cpu.sort_by(f64::total_cmp);
        Some(Summary {
            runs: runs.len(),
            created: runs.iter().filter_map(|r| r["created"].as_u64()).max().unwrap_or(0),
            lost_in_order,
            lost,
            cpu,
            accounted: runs.iter().all(|r| r["exact"].is_boolean()),
            exact: runs.iter().filter(|r| r["exact"].as_bool() == Some(true)).count(),
            hogs_alive: runs.iter().all(|r| r["hogs_alive"].as_bool() != Some(false)),
        })
    }

    fn median_cpu(&self) -> f64 {
        self.cpu[self.runs / 2]
    }

    fn median_lost(&self) -> u64 {
        self.lost[self.runs / 2]
    }

    fn worst_lost(&self) -> u64 {
        self.lost[self.runs - 1]
    }

    fn lost_pct(&self, lost: u64) -> f64 {
        100.0 * lost as f64 / self.created.max(1) as f64
    }

    fn json(&self) -> Value {
        json!({
            "runs": self.runs,
            "created": self.created,
            "lost_in_order": self.lost_in_order,
            "median_lost": self.median_lost(),
            "worst_lost": self.worst_lost(),
            "median_lost_pct": self.lost_pct(self.median_lost()),
            "worst_lost_pct": self.lost_pct(self.worst_lost()),
            "cpu_min": self.cpu[0],
            "median_cpu_ns_per_span": self.median_cpu(),
            "cpu_max": self.cpu[self.runs - 1],
            "accounted": self.accounted,
            "exact_runs": self.exact,
            "hogs_alive": self.hogs_alive,
        })
    }
}

//! A program users can relate to, measured plain and instrumented: the overhead of each library in
//! percent of the plain program's wall time and CPU time.
//!
//! ```text
//! cargo run -p telem-bench --release --bin workload -- [REQUESTS] [ROUNDS]   # defaults 1000 per thread, 7
//! ```
//!
//! The workload: 2 threads, each serving REQUESTS requests; a request runs 4 stages, a stage 8 units;
//! a unit is 1–10 µs of real work (fill a buffer of 80–556 `u32` from a seeded generator, sort it,
//! hash it: deterministic, its result folded into the request's and `black_box`ed, so the optimiser
//! cannot drop it). Every level is a function, and in the instrumented variants every function is a
//! span: 37 spans per request (request → stage → unit), a span per 1–10 µs of work.
//!
//! | case | instrumentation |
//! |---|---|
//! | `plain` | none |
//! | `telem` | `#[telem::span]` on all three levels; default settings, null exporter (console and store off) |
//! | `fastrace` | `#[fastrace::trace]` on stage and unit, the request a sampled `Span::root` made the local parent; discarding reporter, default `Config` |
//! | `tracing` | `#[tracing::instrument(skip_all)]` on all three levels; a `tracing_subscriber` registry as the global default |
//! | `tracing_otel` | the same with a `tracing-opentelemetry` layer over an OpenTelemetry SDK tracer (batch span processor, exporter that discards) |
//!
//! Every run is a fresh process (this binary re-run with `--case <case> <requests>`): set up, spawn
//! the two threads, release them together; wall time = release → both joined; CPU time =
//! `getrusage(RUSAGE_SELF)` (every thread) from the release until the library has drained (telem:
//! `shutdown()`; fastrace: `flush()`; OpenTelemetry: provider `force_flush()` + `shutdown()`). The parent
//! runs ROUNDS rounds, each case once per round in a rotating order, and reports per case the overhead
//! of each run against the median plain run — median and worst of the rounds — plus the plain runs' own
//! spread against their median, which is the noise any figure here carries. Spans lost are shown beside
//! (a library that drops spans does less work).

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::hint::black_box;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Barrier;
use std::time::Instant;
use telem_bench as b;

/// Stages per request and units per stage: 1 + 4 + 32 = 37 spans per request.
const STAGES: u64 = 4;
const UNITS: u64 = 8;
const SPANS_PER_REQUEST: u64 = 1 + STAGES + STAGES * UNITS;
/// Worker threads.
const THREADS: u64 = 2;

/// One unit of real work: 80–556 values from a generator seeded by `id`, sorted, then hashed (FNV-1a).
/// About 1–10 µs; the same for every case.
#[inline(never)]
fn work(id: u64) -> u64 {
    let mut buf = [0u32; 576];
    let len = 80 + (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61) as usize * 68;
    let mut x = id.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    for v in &mut buf[..len] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *v = x as u32;
    }
    let buf = black_box(&mut buf[..len]);
    buf.sort_unstable();
    buf.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &v| (h ^ u64::from(v)).wrapping_mul(0x100_0000_01b3))
}

/// Runs `f` directly (no root of its own).
#[inline(always)]
fn no_root(f: impl FnOnce() -> u64) -> u64 {
    f()
}

/// Runs `f` under a fresh sampled fastrace root made the local parent (fastrace records nothing
/// without one): the request's span.
#[inline(always)]
fn fastrace_root(f: impl FnOnce() -> u64) -> u64 {
    let root = fastrace::Span::root("request", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    f()
}

/// The three levels of the workload as functions, with the same attributes on each level (the request
/// level: `$request` attributes and the `$root` wrapper).
macro_rules! workload {
    ($name:ident, root: $root:path, request: [$(#[$ra:meta])*], inner: [$(#[$ia:meta])*]) => {
        mod $name {
            use super::*;

            $(#[$ra])*
            #[inline(never)]
            pub fn request(id: u64) -> u64 {
                $root(|| (0..STAGES).fold(0, |h, s| h ^ stage(id * STAGES + s)))
            }

            $(#[$ia])*
            #[inline(never)]
            fn stage(id: u64) -> u64 {
                (0..UNITS).fold(0, |h, u| h.rotate_left(5) ^ unit(id * UNITS + u))
            }

            $(#[$ia])*
            #[inline(never)]
            fn unit(id: u64) -> u64 {
                work(id)
            }
        }
    };
}

workload!(plain, root: no_root, request: [], inner: []);
workload!(with_telem, root: no_root, request: [#[telem::span]], inner: [#[telem::span]]);
workload!(with_fastrace, root: fastrace_root, request: [], inner: [#[fastrace::trace]]);
workload!(with_tracing, root: no_root, request: [#[tracing::instrument(skip_all)]], inner: [#[tracing::instrument(skip_all)]]);

/// The cases, in table order, and what each instruments.
const CASES: [(&str, &str); 5] = [
    ("plain", "the program, uninstrumented"),
    ("telem", "#[telem::span] on every level, null exporter"),
    ("fastrace", "#[fastrace::trace] on every level (the request a sampled root), discarding reporter"),
    ("tracing", "#[tracing::instrument(skip_all)] on every level, registry"),
    ("tracing_otel", "the same + tracing-opentelemetry layer, OpenTelemetry SDK, batch processor, null exporter"),
];

/// One run of `case` in this process: `requests` requests on each of [`THREADS`] threads.
fn child(case: &str, requests: u64) -> Value {
    let request: fn(u64) -> u64 = match case {
        "plain" => plain::request,
        "telem" => with_telem::request,
        "fastrace" => with_fastrace::request,
        "tracing" | "tracing_otel" => with_tracing::request,
        other => {
            eprintln!("unknown case `{other}`");
            std::process::exit(2);
        }
    };
    let telem = (case == "telem").then(b::telem_start);
    if case == "fastrace" {
        b::fastrace_start();
    }
    let provider = (case == "tracing_otel").then(b::otel_provider);
    let dispatch = match (case, &provider) {
        ("tracing", _) => Some(b::tracing_registry()),
        (_, Some(p)) => Some(b::tracing_otel(p)),
        _ => None,
    };
    if let Some(d) = dispatch {
        tracing::dispatcher::set_global_default(d).expect("no global tracing default yet");
    }

    let barrier = Barrier::new(THREADS as usize + 1);
    let (cpu, wall, total_wall, checksum) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    (t * requests..(t + 1) * requests).fold(0u64, |h, id| h ^ black_box(request(black_box(id))))
                })
            })
            .collect();
        let cpu0 = b::rusage_cpu_time();
        let start = Instant::now();
        barrier.wait();
        let checksum = workers.into_iter().fold(0, |h, w| h ^ w.join().expect("a worker panicked"));
        let wall = start.elapsed();
        (cpu0, wall, start, checksum)
    });
    // Drain what the library still holds: part of its cost.
    let mut out = json!({});
    if let Some(telem) = telem {
        telem.shutdown();
        let stats = telem::stats();
        let sink = stats.exporter("null").cloned().unwrap_or_default();
        out["delivered"] = json!(sink.exported);
        out["exact"] = json!(stats.recorded == sink.exported + sink.dropped && sink.in_flight == 0);
    }
    if case == "fastrace" {
        fastrace::flush();
        out["delivered"] = json!(b::FASTRACE_REPORTED.load(Ordering::Relaxed));
    }
    if let Some(p) = &provider {
        let _ = p.force_flush();
        let _ = p.shutdown();
        out["delivered"] = json!(b::OTEL_EXPORTED.load(Ordering::Relaxed));
    }
    let cpu = b::rusage_cpu_time() - cpu;
    let spans = if case == "plain" { 0 } else { THREADS * requests * SPANS_PER_REQUEST };
    out["case"] = json!(case);
    out["requests"] = json!(THREADS * requests);
    out["spans"] = json!(spans);
    out["lost"] = json!(out["delivered"].as_u64().map_or(0, |d| spans.saturating_sub(d)));
    out["wall_s"] = json!(wall.as_secs_f64());
    out["wall_with_drain_s"] = json!(total_wall.elapsed().as_secs_f64());
    out["cpu_s"] = json!(cpu.as_secs_f64());
    out["checksum"] = json!(checksum);
    out
}

const RESULT: &str = "WORKLOAD-RESULT ";

/// The time of one unit of work for the smallest and the largest buffer, and on average over the mix
/// the workload uses (µs of this thread's CPU time, so time the thread spends preempted is not counted;
/// the fastest of 15 rounds of 400 units each: noise only adds).
fn unit_times() -> (f64, f64, f64) {
    let thread_cpu = || {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid out-pointer; CLOCK_THREAD_CPUTIME_ID is always supported on Linux.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
    };
    let time = |ids: &[u64]| {
        (0..15)
            .map(|_| {
                let start = thread_cpu();
                for &id in ids {
                    black_box(work(black_box(id)));
                }
                (thread_cpu() - start) / ids.len() as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    // Ids whose buffer is the smallest (80) and the largest (556) of the mix, and a run of the mix.
    let class = |id: &u64| id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61;
    let small: Vec<u64> = (0u64..).filter(|id| class(id) == 0).take(400).collect();
    let large: Vec<u64> = (0u64..).filter(|id| class(id) == 7).take(400).collect();
    let mix: Vec<u64> = (0..400).collect();
    (time(&small), time(&large), time(&mix))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--case") {
        let (Some(case), Some(requests)) = (args.get(1), args.get(2).and_then(|n| b::parse_count(n))) else {
            eprintln!("usage: workload --case <case> <requests per thread>");
            std::process::exit(2);
        };
        println!("{RESULT}{}", child(case, requests));
        return;
    }
    let requests = args.first().and_then(|a| b::parse_count(a)).unwrap_or(1000);
    let rounds = args.get(1).and_then(|a| a.parse::<usize>().ok()).unwrap_or(7).max(1);
    let exe = std::env::current_exe().expect("the path of this executable");

    let run = |case: &str| {
        let output = Command::new(&exe).args(["--case", case, &requests.to_string()]).stdin(Stdio::null()).output();
        let parsed = output.ok().and_then(|o| {
            if !o.status.success() {
                eprintln!("[telem-bench] workload: {case} failed: {}", String::from_utf8_lossy(&o.stderr));
            }
            let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
            stdout.lines().find_map(|l| l.strip_prefix(RESULT).and_then(|j| serde_json::from_str::<Value>(j).ok()))
        });
        if parsed.is_none() {
            eprintln!("[telem-bench] workload: no result for {case}");
        }
        parsed
    };
    let units = unit_times();
    let mut runs: Vec<Vec<Value>> = vec![Vec::new(); CASES.len()];
    for round in 0..rounds {
        eprintln!("[telem-bench] workload: round {} of {rounds}", round + 1);
        for k in 0..CASES.len() {
            let i = (k + round) % CASES.len();
            runs[i].extend(run(CASES[i].0));
        }
    }
    // Every run computes the same thing: the checksums must agree.
    let checksums: Vec<u64> = runs.iter().flatten().filter_map(|r| r["checksum"].as_u64()).collect();
    let same_work = checksums.windows(2).all(|w| w[0] == w[1]);

    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let field = |i: usize, key: &str| runs[i].iter().filter_map(|r| r[key].as_f64()).collect::<Vec<_>>();
    let plain_wall = median(field(0, "wall_s"));
    let plain_cpu = median(field(0, "cpu_s"));
    let pct = |v: f64, base: f64| 100.0 * (v / base - 1.0);

    let mut md = String::new();
    let _ = writeln!(md, "### Workload overhead (`workload`): a span per 1–10 µs of real work\n");
    let _ = writeln!(
        md,
        "{THREADS} threads × {requests} requests; a request = {STAGES} stages × {UNITS} units, a unit = sort + hash of \
         80–556 u32 (here {:.1}–{:.1} µs by buffer size, {:.1} µs on average, thread CPU time alone on one thread, fastest of 15 rounds; \
         in the plain runs {:.1} µs of CPU per unit); {SPANS_PER_REQUEST} spans per request when instrumented. {rounds} rounds, each case once per \
         round in a fresh process (rotating order). Overhead = a run's time / the median plain run − 1: median and \
         worst of the {rounds} runs. Wall: release of the threads → both joined. CPU: getrusage, all threads, until \
         the library has drained. Plain: {plain_wall:.3} s wall, {plain_cpu:.3} s CPU (medians). The `plain` row is \
         the noise: plain runs against their own median. Shared 2-core machine: differences within the plain \
         row's spread are noise. Same work in every run (checksums equal): {same_work}.\n",
        units.0, units.1, units.2, 1e6 * plain_cpu / (THREADS * requests * STAGES * UNITS) as f64,
    );
    let _ = writeln!(
        md,
        "| case | what | runs | wall overhead, median | wall, worst | CPU overhead, median | CPU, worst | wall overhead range | CPU overhead range | spans lost (worst run) |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---|---|---|");
    let mut figures = serde_json::Map::new();
    for (i, (case, what)) in CASES.iter().enumerate() {
        if runs[i].is_empty() {
            let _ = writeln!(md, "| {case} | {what} | 0 | (no result) | | | | | | |");
            continue;
        }
        let sorted = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v
        };
        let wall = sorted(field(i, "wall_s").into_iter().map(|w| pct(w, plain_wall)).collect());
        let cpu = sorted(field(i, "cpu_s").into_iter().map(|c| pct(c, plain_cpu)).collect());
        let n = wall.len().min(cpu.len());
        let worst_lost = runs[i].iter().filter_map(|r| r["lost"].as_u64()).max().unwrap_or(0);
        let spans = runs[i][0]["spans"].as_u64().unwrap_or(0);
        let lost = if *case == "plain" {
            "–".to_owned()
        } else {
            format!("{worst_lost} of {spans} ({:.2} %)", 100.0 * worst_lost as f64 / spans.max(1) as f64)
        };
        let _ = writeln!(
            md,
            "| {case} | {what} | {n} | {:+.1} % | {:+.1} % | {:+.1} % | {:+.1} % | {:+.1} … {:+.1} % | {:+.1} … {:+.1} % | {lost} |",
            wall[n / 2],
            wall[n - 1],
            cpu[n / 2],
            cpu[n - 1],
            wall[0],
            wall[n - 1],
            cpu[0],
            cpu[n - 1],
        );
        figures.insert(
            case.to_string(),
            json!({
                "runs": n,
                "wall_overhead_pct": wall, "cpu_overhead_pct": cpu,
                "median_wall_overhead_pct": wall[n / 2], "worst_wall_overhead_pct": wall[n - 1],
                "median_cpu_overhead_pct": cpu[n / 2], "worst_cpu_overhead_pct": cpu[n - 1],
                "spans": spans, "worst_lost": worst_lost,
                "runs_raw": runs[i],
            }),
        );
    }
    md.push('\n');
    let out = json!({
        "threads": THREADS, "requests_per_thread": requests, "rounds": rounds,
        "spans_per_request": SPANS_PER_REQUEST,
        "plain_wall_s": plain_wall, "plain_cpu_s": plain_cpu, "same_work": same_work,
        "cases": figures,
    });
    b::emit("workload", &md, &out);
}

//! Bounded multi-threaded stress through the public API, checking the accounting invariant on every
//! `stats()` sample while spans are recorded, flushed, drained and shut down, over several
//! init/shutdown rounds:
//!
//! * for every exporter, on every sample: `recorded == exported + dropped + in_flight` and
//!   `exported + dropped <= recorded` (in `u64`, checked, so a wrap or a saturation shows);
//! * within a round, the counters never go down;
//! * once `shutdown` has returned true, `in_flight == 0` for every exporter, and it stays 0 on every
//!   later sample while telem is shut down (spans that end late are recorded and dropped);
//! * an exporter sees each span at most once, and what it saw is what `stats()` says it exported;
//! * in rounds where every thread stops recording before shutdown, `recorded` is exactly the number
//!   of spans the test made.
//!
//! Rounds differ in how they end: threads join before shutdown; threads still recording during
//! shutdown and into the next `init`; or shutdown on another thread while this one calls `init` again.
//! Rings are tiny (64 to 256 spans) so they fill (drops), seal and switch segments constantly; one
//! exporter fails or panics on some batches, one is slow with a small queue (queue drops).
//!
//! Sizes: `TELEM_STRESS_SCALE` (a factor, default 1; `.ci/sanitize` sets it lower) scales the
//! iterations. Nothing here depends on timing: waits are for events, sleeps only slow an exporter.
//! Violations are collected (with the sample that showed them) and reported together at the end.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use telem::{Batch, ExportError, Exporter, Span, SpanKind, Stats, Status, Value};

const WORKERS: u64 = 4;
const ROUNDS: u64 = 24;
/// Threads sampling `telem::stats()` all along.
const SAMPLERS: usize = 2;
/// Spans started right after `init` and ended only after `shutdown` returned.
const HELD: usize = 5;
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(120);

fn scale() -> f64 {
    match std::env::var("TELEM_STRESS_SCALE") {
        Ok(v) => v.parse::<f64>().ok().filter(|s| *s > 0.0).unwrap_or_else(|| panic!("TELEM_STRESS_SCALE={v:?}")),
        Err(_) => 1.0,
    }
}

// ---------------------------------------------------------------------------------------------------
// What the workers record.

#[telem::span(name = "stress.inner", fields(depth = 2, worker = w))]
fn inner(w: u64, i: u64) -> u64 {
    w.wrapping_mul(31) ^ i
}

#[telem::span(name = "stress.middle", args)]
fn middle(w: u64, i: u64) -> u64 {
    inner(w, i).wrapping_add(inner(w, i + 1))
}

#[telem::span]
fn outer(w: u64, i: u64) -> u64 {
    if i % 3 == 0 {
        telem::current_span().set_attribute("i", i);
    }
    middle(w, i)
}

#[telem::span(err)]
fn fallible(i: u64) -> Result<u64, String> {
    if i % 20 == 0 {
        Err(format!("failure {i}"))
    } else {
        Ok(i)
    }
}

/// Spans one worker iteration records when telem runs throughout it (what `iteration` does below).
fn spans_per_iteration(i: u64) -> u64 {
    let mut n = 4; // outer, middle, 2 × inner
    if i % 4 == 0 {
        n += 2; // manual + inner inside it
    }
    if i % 8 == 1 {
        n += 1; // in_span with a run-time name
    }
    if i % 10 == 0 {
        n += 1; // fallible
    }
    if i % 64 == 0 {
        n += 1; // ended on the ender thread
    }
    if i % 512 == 7 {
        n += SHORT_LIVED_SPANS; // a thread that records and exits
    }
    n
}

const SHORT_LIVED_SPANS: u64 = 20;

fn iteration(w: u64, i: u64, ender: &mpsc::Sender<Span>) -> u64 {
    let mut acc = outer(w, i);
    if i % 4 == 0 {
        let mut span = Span::builder("stress.manual").kind(SpanKind::Client).attribute("i", i).start();
        {
            let _entered = span.enter();
            acc ^= inner(w, i);
        }
        span.set_attribute("acc", acc);
        span.end();
    }
    if i % 8 == 1 {
        telem::in_span(format!("stress.dyn-{}", i % 16), |span| span.set_attribute("w", w));
    }
    if i % 10 == 0 {
        let _ = fallible(i);
    }
    if i % 64 == 0 {
        let span = Span::builder("stress.crossing").attribute("from", w).start();
        ender.send(span).expect("ender alive");
    }
    if i % 512 == 7 {
        std::thread::Builder::new()
            .name(format!("stress-short-{w}"))
            .spawn(move || (0..SHORT_LIVED_SPANS).fold(0, |a, j| a ^ inner(w, j)))
            .expect("spawn")
            .join()
            .expect("short-lived thread");
    }
    acc
}

const NAMES: &[&str] =
    &["stress.inner", "stress.middle", "outer", "fallible", "stress.manual", "stress.crossing", "held"];

// ---------------------------------------------------------------------------------------------------
// Exporters.

/// What the counting exporter saw, readable after its runtime shut down.
#[derive(Default)]
struct Seen {
    spans: u64,
    ids: HashSet<u64>,
    duplicates: u64,
    malformed: Vec<String>,
}

/// Counts spans, remembers their ids (a span exported twice is a duplicate) and checks each one.
struct Counting(Arc<Mutex<Seen>>);

impl Exporter for Counting {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let mut seen = self.0.lock().unwrap();
        for span in batch.spans() {
            seen.spans += 1;
            if !seen.ids.insert(span.span_id().0) {
                seen.duplicates += 1;
            }
            let name = span.name();
            let ok = (NAMES.contains(&name) || name.starts_with("stress.dyn-"))
                && match name {
                    "stress.inner" => span.attribute("depth").is_some() && span.attribute("worker").is_some(),
                    // (No parent check: a span whose caller started between two runtimes is a root.)
                    "stress.middle" => span.attribute("w").is_some() && span.attribute("i").is_some(),
                    "stress.manual" => matches!(span.attribute("i"), Some(Value::U64(_) | Value::I64(_))),
                    "fallible" => match span.status() {
                        Status::Error(message) => message.starts_with("failure "),
                        _ => true,
                    },
                    _ => true,
                };
            if !ok && seen.malformed.len() < 10 {
                seen.malformed.push(format!("{:?}", span.to_data()));
            }
        }
        Ok(())
    }
}

/// Fails every 5th batch and panics on every 37th: those batches are dropped for it alone.
struct Flaky {
    batches: u64,
    ok: Arc<AtomicU64>,
}

impl Exporter for Flaky {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.batches += 1;
        if self.batches % 37 == 0 {
            panic!("flaky exporter panics on purpose (batch {})", self.batches);
        }
        if self.batches % 5 == 0 {
            return Err("flaky exporter fails on purpose".into());
        }
        self.ok.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Slower than the spans arrive: with a small queue, some of its batches are dropped for it.
struct Slow;

impl Exporter for Slow {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        std::thread::sleep(Duration::from_micros(20 * batch.len() as u64));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------
// The sampler and its checks.

/// The test's phase, set by the main thread: `4 * round + PHASE_*`. Samples are attributed to a phase
/// only when it is the same before and after the sample.
static PHASE: AtomicU64 = AtomicU64::new(0);
const TRANSITION: u64 = 0; // an `init` (and maybe another thread's shutdown) in progress
const RUNNING: u64 = 1; // this round's `init` returned
const STOPPING: u64 = 2; // `shutdown` called
const STOPPED: u64 = 3; // `shutdown` returned true: nothing may be in flight from now on

fn set_phase(round: u64, phase: u64) {
    PHASE.store(4 * round + phase, Ordering::SeqCst);
}

#[derive(Default)]
struct Violations {
    list: Mutex<Vec<String>>,
    count: AtomicUsize,
}

impl Violations {
    fn report(&self, what: String) {
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        if n < 40 {
            eprintln!("stress: VIOLATION: {what}");
            self.list.lock().unwrap().push(what);
        }
    }
}

/// The invariants every sample must satisfy; returns what is wrong with it.
fn check_sample(s: &Stats) -> Vec<String> {
    let mut wrong = Vec::new();
    for e in &s.exporters {
        if e.recorded != s.recorded {
            wrong.push(format!("`{}`: recorded {} != Stats::recorded {}", e.name, e.recorded, s.recorded));
        }
        match e.exported.checked_add(e.dropped) {
            None => wrong.push(format!("`{}`: exported {} + dropped {} overflows u64", e.name, e.exported, e.dropped)),
            Some(done) if done > e.recorded => wrong.push(format!(
                "`{}`: exported {} + dropped {} = {done} > recorded {} (by {})",
                e.name,
                e.exported,
                e.dropped,
                e.recorded,
                done - e.recorded
            )),
            Some(done) => match done.checked_add(e.in_flight) {
                Some(total) if total == e.recorded => {}
                total => wrong.push(format!(
                    "`{}`: recorded {} != exported {} + dropped {} + in_flight {} (= {total:?})",
                    e.name, e.recorded, e.exported, e.dropped, e.in_flight
                )),
            },
        }
        if e.dropped < s.ring_dropped {
            wrong.push(format!("`{}`: dropped {} < ring_dropped {}", e.name, e.dropped, s.ring_dropped));
        }
    }
    wrong
}

fn stopped_check(s: &Stats) -> Vec<String> {
    s.exporters
        .iter()
        .filter(|e| e.in_flight != 0)
        .map(|e| format!("`{}`: in_flight {} after shutdown returned true", e.name, e.in_flight))
        .collect()
}

/// Per exporter: (recorded, exported, dropped), to check that a round's counters never go down.
type Counters = Vec<(String, u64, u64, u64)>;

fn counters(s: &Stats) -> Counters {
    s.exporters.iter().map(|e| (e.name.clone(), e.recorded, e.exported, e.dropped)).collect()
}

fn sampler(stop: Arc<AtomicBool>, violations: Arc<Violations>) -> u64 {
    let mut samples = 0u64;
    let mut last: Option<(u64, Counters)> = None;
    while !stop.load(Ordering::SeqCst) {
        let before = PHASE.load(Ordering::SeqCst);
        let s = match std::panic::catch_unwind(telem::stats) {
            Ok(s) => s,
            Err(p) => {
                violations.report(format!("stats() panicked in phase {before}: {}", panic_text(&*p)));
                continue;
            }
        };
        let after = PHASE.load(Ordering::SeqCst);
        samples += 1;
        let mut wrong = check_sample(&s);
        if before == after && before % 4 == STOPPED {
            wrong.extend(stopped_check(&s));
        }
        if before == after && before % 4 != TRANSITION {
            let now = counters(&s);
            if let Some((phase, prev)) = &last {
                if phase / 4 == before / 4 {
                    for ((name, r0, x0, d0), (_, r1, x1, d1)) in prev.iter().zip(&now) {
                        if r1 < r0 || x1 < x0 || d1 < d0 {
                            wrong.push(format!(
                                "`{name}` went down within round {}: (recorded, exported, dropped) \
                                 ({r0}, {x0}, {d0}) -> ({r1}, {x1}, {d1})",
                                before / 4
                            ));
                        }
                    }
                }
            }
            last = Some((before, now));
        }
        for w in wrong {
            violations.report(format!("sample {samples}, round {} phase {}: {w}\n  {s:?}", before / 4, before % 4));
        }
        std::thread::yield_now();
    }
    samples
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------
// Rounds.

/// How a round ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Every thread joins, then `telem::shutdown(timeout)` here.
    Joined,
    /// Halfway through, `Telem::shutdown()` here while the workers go on recording, through the
    /// shutdown and on into the next round's `init`.
    Overlapping,
    /// Workers join; the guard shuts down on another thread while this one calls `init` again.
    ShutdownElsewhere,
    /// Halfway through, the guard shuts down on another thread while this one calls `init` again and
    /// the workers go on recording through both.
    ShutdownElsewhereBusy,
}

const ENDINGS: [Ending; 4] =
    [Ending::Joined, Ending::Overlapping, Ending::ShutdownElsewhere, Ending::ShutdownElsewhereBusy];

struct Workers {
    threads: Vec<JoinHandle<u64>>,
    ender: JoinHandle<u64>,
    progress: Arc<AtomicU64>,
}

fn start_workers(round: u64, iterations: u64) -> Workers {
    let (tx, rx) = mpsc::channel::<Span>();
    let ender = std::thread::Builder::new()
        .name(format!("stress-ender-{round}"))
        .spawn(move || rx.into_iter().map(|span| span.end()).count() as u64)
        .expect("spawn");
    let progress = Arc::new(AtomicU64::new(0));
    let threads = (0..WORKERS)
        .map(|w| {
            let (tx, progress) = (tx.clone(), progress.clone());
            std::thread::Builder::new()
                .name(format!("stress-worker-{round}-{w}"))
                .spawn(move || {
                    let mut acc = 0u64;
                    for i in 0..iterations {
                        acc ^= iteration(w, i, &tx);
                        progress.fetch_add(1, Ordering::Relaxed);
                    }
                    acc
                })
                .expect("spawn")
        })
        .collect();
    Workers { threads, ender, progress }
}

impl Workers {
    fn join(self) {
        for t in self.threads {
            t.join().expect("worker");
        }
        self.ender.join().expect("ender");
    }
}

/// Calls `telem::flush()` until told to stop, whatever runtime is current (or none).
fn flusher(stop: Arc<AtomicBool>) -> u64 {
    let mut flushes = 0;
    while !stop.load(Ordering::SeqCst) {
        let _ = telem::flush();
        flushes += 1;
        std::thread::yield_now();
    }
    flushes
}

struct Round {
    telem: telem::Telem,
    seen: Arc<Mutex<Seen>>,
    flaky_ok: Arc<AtomicU64>,
}

fn start_round(round: u64, violations: &Violations) -> Round {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let flaky_ok = Arc::new(AtomicU64::new(0));
    let mut attempts = 0u64;
    loop {
        let (ring, batch) = [(64, 16), (128, 32), (256, 64)][(round % 3) as usize];
        let builder = telem::Builder::new()
            .exporter("console", false)
            .exporter("store", false)
            .ring_capacity(ring)
            .batch_size(batch)
            .queue_capacity(batch * 16)
            .flush_interval(Duration::from_millis(1))
            .shutdown_timeout(SHUTDOWN_TIMEOUT)
            .with_exporter("count", Counting(seen.clone()))
            .with_exporter("flaky", Flaky { batches: 0, ok: flaky_ok.clone() })
            .with_exporter("slow", Slow);
        match builder.try_init() {
            Ok(telem) => return Round { telem, seen, flaky_ok },
            // Another thread is still shutting the previous runtime down: `init` may say so.
            Err(telem::InitError::AlreadyRunning) => {
                attempts += 1;
                if attempts % 100_000 == 0 {
                    violations.report(format!("round {round}: init still AlreadyRunning after {attempts} attempts"));
                }
                std::thread::yield_now();
            }
            Err(e) => panic!("round {round}: init failed: {e}"),
        }
    }
}

/// Checks a runtime that has shut down (and whose exporters have finished): nothing in flight, every
/// span accounted for, and the exporters' own tallies match `stats()`.
fn check_shut_down(round: u64, seen: &Mutex<Seen>, flaky_ok: &AtomicU64, violations: &Violations) -> Stats {
    let s = telem::stats();
    for w in check_sample(&s).into_iter().chain(stopped_check(&s)) {
        violations.report(format!("round {round}, right after shutdown: {w}\n  {s:?}"));
    }
    let seen = seen.lock().unwrap();
    let get = |name: &str| s.exporter(name).cloned().unwrap_or_default();
    if get("count").exported != seen.spans {
        violations.report(format!(
            "round {round}: stats say `count` exported {} but it received {}\n  {s:?}",
            get("count").exported,
            seen.spans
        ));
    }
    if seen.duplicates != 0 {
        violations.report(format!("round {round}: {} spans exported twice to `count`", seen.duplicates));
    }
    for m in &seen.malformed {
        violations.report(format!("round {round}: malformed span: {m}"));
    }
    if get("flaky").exported != flaky_ok.load(Ordering::Relaxed) {
        violations.report(format!(
            "round {round}: stats say `flaky` exported {} but it accepted {}",
            get("flaky").exported,
            flaky_ok.load(Ordering::Relaxed)
        ));
    }
    s
}

#[test]
fn stress_rounds_keep_the_accounting_exact() {
    let scale = scale();
    let iterations = ((20_000.0 * scale) as u64).max(200);
    // Every ending at least twice, each followed by another round's `init`.
    let rounds = ((ROUNDS as f64 * scale) as u64).clamp(2 * ENDINGS.len() as u64, ROUNDS);
    eprintln!("stress: {rounds} rounds, {WORKERS} workers × {iterations} iterations (TELEM_STRESS_SCALE={scale})");

    // The flaky exporter panics on purpose: keep those panics off stderr, report every other one.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = panic_text(info.payload());
        if !text.starts_with("flaky exporter panics on purpose") {
            default_hook(info);
        }
    }));

    let violations = Arc::new(Violations::default());
    let stop = Arc::new(AtomicBool::new(false));
    let samplers: Vec<_> = (0..SAMPLERS)
        .map(|i| {
            let (stop, violations) = (stop.clone(), violations.clone());
            std::thread::Builder::new()
                .name(format!("stress-sampler-{i}"))
                .spawn(move || sampler(stop, violations))
                .unwrap()
        })
        .collect();
    let flusher = {
        let stop = stop.clone();
        std::thread::Builder::new().name("stress-flusher".into()).spawn(move || flusher(stop)).unwrap()
    };

    let mut pending_shutdown: Option<JoinHandle<bool>> = None;
    let mut overlapping: Option<Workers> = None;
    let mut previous_overlapped = false;
    let mut current = Some(start_round(0, &violations));
    for round in 0..rounds {
        // The previous round's guard may still be shutting down on another thread, or its workers
        // still recording: this round's `init` ran meanwhile.
        if let Some(t) = pending_shutdown.take() {
            if !t.join().expect("shutdown thread") {
                violations.report(format!("round {}: Telem::shutdown() on another thread returned false", round - 1));
            }
        }
        let ending = ENDINGS[(round % ENDINGS.len() as u64) as usize];
        let held: Vec<Span> = (0..HELD).map(|i| Span::builder("held").attribute("n", i as u64).start()).collect();
        if !held.iter().all(Span::is_recording) {
            violations.report(format!(
                "round {round}: a span started right after init returned is not recording ({:?})\n  {:?}",
                held.iter().map(Span::is_recording).collect::<Vec<_>>(),
                telem::stats()
            ));
        }
        if let Some(w) = overlapping.take() {
            w.join();
        }
        set_phase(round, RUNNING);

        let workers = start_workers(round, iterations);
        let expected: u64 = HELD as u64 + WORKERS * (0..iterations).map(spans_per_iteration).sum::<u64>();
        let halfway = |workers: &Workers| {
            while workers.progress.load(Ordering::Relaxed) < WORKERS * iterations / 2 {
                std::thread::yield_now();
            }
        };

        let Round { telem, seen, flaky_ok } = current.take().expect("this round's runtime");
        // Exact totals only when no thread of an earlier round records into this one.
        let exact = ending == Ending::Joined && !previous_overlapped;
        previous_overlapped = matches!(ending, Ending::Overlapping | Ending::ShutdownElsewhereBusy);
        let elsewhere = match ending {
            Ending::Joined => {
                workers.join();
                set_phase(round, STOPPING);
                let ok = telem::shutdown(SHUTDOWN_TIMEOUT);
                if !ok {
                    violations.report(format!("round {round}: telem::shutdown returned false"));
                }
                set_phase(round, if ok { STOPPED } else { TRANSITION });
                drop(telem); // already stopped: does nothing
                None
            }
            Ending::Overlapping => {
                halfway(&workers);
                set_phase(round, STOPPING);
                let ok = telem.shutdown();
                if !ok {
                    violations.report(format!("round {round}: Telem::shutdown() returned false"));
                }
                set_phase(round, if ok { STOPPED } else { TRANSITION });
                overlapping = Some(workers);
                None
            }
            Ending::ShutdownElsewhere => {
                workers.join();
                Some(telem)
            }
            Ending::ShutdownElsewhereBusy => {
                halfway(&workers);
                overlapping = Some(workers);
                Some(telem)
            }
        };

        if let Some(telem) = elsewhere {
            // Shut down on another thread and, at once, start the next runtime here.
            set_phase(round + 1, TRANSITION);
            let t = std::thread::Builder::new().name("stress-shutdown".into()).spawn(move || telem.shutdown()).unwrap();
            drop(held);
            eprintln!("stress: round {round} ({ending:?}): shut down on another thread");
            if round + 1 < rounds {
                pending_shutdown = Some(t);
                current = Some(start_round(round + 1, &violations));
            } else if !t.join().expect("shutdown thread") {
                violations.report(format!("round {round}: Telem::shutdown() on another thread returned false"));
            }
            continue;
        }

        let at_shutdown = check_shut_down(round, &seen, &flaky_ok, &violations);
        // Spans started while running and ended after shutdown: recorded, and dropped.
        drop(held);
        let late = telem::stats();
        for w in check_sample(&late).into_iter().chain(stopped_check(&late)) {
            violations.report(format!("round {round}, after the held spans ended late: {w}\n  {late:?}"));
        }
        if exact {
            if late.recorded != at_shutdown.recorded + HELD as u64 {
                violations.report(format!(
                    "round {round}: {HELD} spans ended after shutdown, recorded went {} -> {}\n  {late:?}",
                    at_shutdown.recorded, late.recorded
                ));
            }
            if late.recorded != expected {
                violations.report(format!(
                    "round {round}: recorded {} spans, the test made {expected}\n  {late:?}",
                    late.recorded
                ));
            }
        }
        eprintln!(
            "stress: round {round} ({ending:?}): recorded {}, ring_dropped {}, {}",
            late.recorded,
            late.ring_dropped,
            late.exporters
                .iter()
                .map(|e| format!("{} {}/{}/{}", e.name, e.exported, e.dropped, e.in_flight))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if round + 1 < rounds {
            set_phase(round + 1, TRANSITION);
            current = Some(start_round(round + 1, &violations));
        }
    }
    if let Some(w) = overlapping.take() {
        w.join();
    }
    // Whatever is left: shut down, and nothing may stay in flight.
    let _ = telem::shutdown(SHUTDOWN_TIMEOUT);
    stop.store(true, Ordering::SeqCst);
    let samples: u64 = samplers.into_iter().map(|s| s.join().expect("sampler")).sum();
    let flushes = flusher.join().expect("flusher");
    let s = telem::stats();
    for w in check_sample(&s).into_iter().chain(stopped_check(&s)) {
        violations.report(format!("at the end: {w}\n  {s:?}"));
    }
    eprintln!("stress: {samples} stats samples, {flushes} flushes");
    let n = violations.count.load(Ordering::SeqCst);
    let list = violations.list.lock().unwrap();
    assert!(n == 0, "{n} violations (first {}):\n{}", list.len(), list.join("\n"));
}

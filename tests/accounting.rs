//! The invariant every user can lean on: `recorded == exported + dropped + in_flight` per exporter, and
//! after shutdown nothing is in flight.

mod common;
use std::collections::HashSet;

#[telem::span]
fn unit() {}

#[test]
fn eight_threads_of_100k_spans_each_reach_the_store_exactly_once() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 100_000;
    let dir = tempdir("accounting");
    let telem = telem::Builder::new()
        .console(telem::ConsoleMode::Off)
        .store_dir(&dir)
        .ring_capacity(PER_THREAD * 2)
        .queue_capacity(THREADS * PER_THREAD * 2)
        .shutdown_timeout(std::time::Duration::from_secs(300))
        .try_init()
        .unwrap();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..PER_THREAD {
                    unit();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let before = telem::stats();
    for e in &before.exporters {
        assert_eq!(e.recorded, e.exported + e.dropped + e.in_flight, "{e:?}");
    }
    assert!(telem.shutdown(), "drained in time");
    let stats = telem::stats();
    assert_eq!(stats.recorded, (THREADS * PER_THREAD) as u64);
    assert_eq!(stats.ring_dropped, 0);
    let store = stats.exporter("store").expect("store exporter");
    assert_eq!((store.exported, store.dropped, store.in_flight), (stats.recorded, 0, 0));

    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one session file: {files:?}");
    let mut ids = HashSet::new();
    let mut threads = HashSet::new();
    for span in telem::store::Reader::open(&files[0]).unwrap() {
        let span = span.unwrap();
        assert!(ids.insert(span.span_id), "span exported twice: {span:?}");
        assert_eq!(&*span.name, "unit");
        threads.insert(span.thread_id);
    }
    assert_eq!(ids.len(), THREADS * PER_THREAD);
    assert_eq!(threads.len(), THREADS);
}

/// Threads that keep both cores busy until dropped: the collector and the exporters then get the CPU
/// only in turn with them, as on a loaded machine.
struct Hogs(std::sync::Arc<std::sync::atomic::AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Hogs {
    fn start(n: usize) -> Hogs {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Hogs(stop, threads)
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        self.1.drain(..).for_each(|t| t.join().unwrap());
    }
}

#[test]
fn default_settings_beside_busy_threads_store_every_span_exactly_once() {
    // Default ring and queue: a collector kept off the CPU costs no span (the recording threads hand
    // their full rings over), and the store keeps up with 8 threads. Three rounds, each a runtime.
    const THREADS: usize = 8;
    const PER_THREAD: usize = 100_000;
    let _hogs = Hogs::start(2);
    for round in 0..3 {
        let dir = tempdir(&format!("hogs-{round}"));
        let telem = telem::Builder::new().console(telem::ConsoleMode::Off).store_dir(&dir).try_init().unwrap();
        let threads: Vec<_> =
            (0..THREADS).map(|_| std::thread::spawn(|| (0..PER_THREAD).for_each(|_| unit()))).collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(telem.shutdown(), "round {round}: drained in time");
        let stats = telem::stats();
        let store = stats.exporter("store").expect("store exporter");
        assert_eq!(stats.recorded, (THREADS * PER_THREAD) as u64, "round {round}");
        assert_eq!(
            (store.exported, store.dropped, store.in_flight),
            (stats.recorded, 0, 0),
            "round {round}: {stats:?}"
        );
        let spans = telem::store::read_dir(&dir).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let ids: HashSet<_> = spans.iter().map(|s| s.span_id).collect();
        assert_eq!((spans.len(), ids.len()), (THREADS * PER_THREAD, THREADS * PER_THREAD), "round {round}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_full_ring_hands_its_spans_over_itself_and_loses_none() {
    // A 64-span ring and a collector that would not come on its own for a minute: the ring is full
    // again and again before the collector wakes; the recording thread hands its sealed segments to
    // the exporter itself instead of dropping.
    let (telem, memory) =
        common::start_with(|b| b.ring_capacity(64).flush_interval(std::time::Duration::from_secs(60)));
    for _ in 0..100_000 {
        unit();
    }
    assert!(telem.shutdown());
    let stats = telem::stats();
    let m = stats.exporter("memory").unwrap();
    assert_eq!(stats.recorded, 100_000);
    assert_eq!((m.exported, m.dropped, stats.ring_dropped, m.in_flight), (100_000, 0, 0, 0), "{stats:?}");
    assert_eq!(memory.spans().len(), 100_000);
}

#[test]
fn a_full_ring_and_a_full_queue_count_the_loss_for_that_exporter_alone() {
    // Both exporters' queues hold 1024 spans; the gated one takes none until the end, so once its queue
    // is full its batches are dropped for it alone, counted. No span is lost at the ring, and
    // recording never waits for the stuck exporter.
    let gate = common::Gate::default();
    let (telem, memory) = common::start_with(|b| {
        b.ring_capacity(64)
            .queue_capacity(1024)
            .flush_interval(std::time::Duration::from_secs(60))
            .with_exporter("gated", gate.clone())
    });
    for _ in 0..100_000 {
        unit();
    }
    gate.open();
    assert!(telem.shutdown());
    let stats = telem::stats();
    let gated = stats.exporter("gated").unwrap();
    assert_eq!(stats.recorded, 100_000);
    assert_eq!(stats.ring_dropped, 0, "{stats:?}");
    assert!(gated.dropped >= 100_000 - 2 * 1024, "{stats:?}");
    assert_eq!((gated.exported + gated.dropped, gated.in_flight), (100_000, 0), "{stats:?}");
    let m = stats.exporter("memory").unwrap();
    assert_eq!(m.exported + m.dropped, 100_000, "{stats:?}");
    assert_eq!(memory.spans().len() as u64, m.exported);
}

#[test]
fn spans_of_threads_that_exited_are_drained() {
    let (telem, memory) = common::start();
    for _ in 0..20 {
        std::thread::spawn(|| (0..10).for_each(|_| unit())).join().unwrap();
    }
    assert!(telem::flush());
    assert_eq!(memory.spans().len(), 200);
    let stats = telem::stats();
    assert_eq!(stats.exporter("memory").unwrap().in_flight, 0);
    drop(telem);
}

#[test]
fn a_stale_guard_never_stops_the_next_runtime() {
    let (first, _) = common::start();
    unit();
    assert!(telem::shutdown(std::time::Duration::from_secs(5)), "stopped through the free function");
    let (second, memory) = common::start();
    drop(first); // its runtime has stopped already: this must not stop the second one
    unit();
    assert!(telem::flush());
    assert_eq!(memory.spans().len(), 1, "the second runtime still records");
    assert!(second.shutdown());
    let m = telem::stats().exporter("memory").unwrap().clone();
    assert_eq!((m.recorded, m.exported, m.dropped, m.in_flight), (1, 1, 0, 0));
}

#[test]
fn init_waits_for_a_runtime_shutting_down_on_another_thread() {
    // Threads keep ending spans while runtimes stop and start on two other threads: each runtime's
    // counters must add up exactly, and no span may be exported by two runtimes (no two collectors).
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let workers = ending_spans(&stop);
    for _ in 0..30 {
        let (telem, memory) = common::start_with(|b| b.ring_capacity(256));
        std::thread::sleep(std::time::Duration::from_millis(2));
        let stopper = std::thread::spawn(move || telem.shutdown());
        // Try to start the next one while the first may still be draining.
        let next = loop {
            match common::try_start() {
                Ok(next) => break next,
                Err(telem::InitError::AlreadyRunning) => std::thread::yield_now(),
                Err(other) => panic!("{other}"),
            }
        };
        assert!(stopper.join().unwrap(), "the first runtime drained");
        let (next_telem, next_memory) = next;
        assert!(next_telem.shutdown());
        let m = telem::stats().exporter("memory").unwrap().clone();
        assert_eq!(m.recorded, m.exported + m.dropped, "{m:?}");
        assert_eq!(m.in_flight, 0, "{m:?}");
        assert_eq!(next_memory.spans().len() as u64, m.exported);
        let first: std::collections::HashSet<_> = memory.spans().iter().map(|s| s.span_id).collect();
        assert!(next_memory.spans().iter().all(|s| !first.contains(&s.span_id)), "a span exported twice");
    }
    stop.store(true, Ordering::Relaxed);
    workers.into_iter().for_each(|w| w.join().unwrap());
}

#[test]
fn after_shutdown_in_flight_stays_zero_while_spans_keep_ending() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let (telem, _memory) = common::start_with(|b| b.ring_capacity(256));
    let workers = ending_spans(&stop);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(telem.shutdown());
    for _ in 0..200 {
        let stats = telem::stats();
        for e in &stats.exporters {
            assert_eq!(e.in_flight, 0, "{stats:?}");
            assert_eq!(e.recorded, e.exported + e.dropped, "{stats:?}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    workers.into_iter().for_each(|w| w.join().unwrap());
}

/// Two threads ending spans until `stop` is set.
fn ending_spans(stop: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    unit();
                }
            })
        })
        .collect()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("telem-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

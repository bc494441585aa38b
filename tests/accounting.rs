//! The invariant every user can lean on: `recorded == exported + dropped + in_flight` per exporter, and
//! after shutdown nothing is in flight.

mod common;
use std::collections::HashSet;
use std::io::BufRead;

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
    for line in std::io::BufReader::new(std::fs::File::open(&files[0]).unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert!(ids.insert(v["span_id"].as_str().unwrap().to_owned()), "span exported twice: {v}");
        threads.insert(v["thread_id"].as_u64().unwrap());
    }
    assert_eq!(ids.len(), THREADS * PER_THREAD);
    assert_eq!(threads.len(), THREADS);
}

#[test]
fn a_full_ring_drops_and_counts_never_blocks() {
    // A tiny ring and a collector that would not wake on its own for a minute.
    let (telem, memory) =
        common::start_with(|b| b.ring_capacity(64).flush_interval(std::time::Duration::from_secs(60)));
    for _ in 0..100_000 {
        unit();
    }
    assert!(telem.shutdown());
    let stats = telem::stats();
    let m = stats.exporter("memory").unwrap();
    assert_eq!(stats.recorded, 100_000);
    assert_eq!(m.exported + m.dropped, 100_000, "{stats:?}");
    assert_eq!(m.dropped, stats.ring_dropped);
    assert_eq!(memory.spans().len() as u64, m.exported);
    assert_eq!(m.in_flight, 0);
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

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("telem-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

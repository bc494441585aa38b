//! The ring's three-party hand-off under real concurrency: one producer pushing, one consumer taking
//! (sometimes everything, copying the unsealed tail), and exporter threads that read the runs, hold a
//! few of them, and drop them on their own threads (giving segments back to the producer).
//!
//! Every record carries its id in every field, so a slot read before it was written, read after it was
//! reused, or torn, shows up as a mismatch; some carry an [`Extra`] with owned strings, so a record
//! dropped twice or never is undefined behaviour or a leak under Miri (`cargo +nightly miri test -p
//! telem-runtime --lib collect::ring`). Sizes shrink under Miri; ring sizes are small so that every
//! run wraps around many times, fills the ring (drops) and reuses segments.

use super::*;
use crate::trace::callsite::{CallSite, SpanKind};
use crate::trace::record::Extra;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::mpsc;

static SITE: CallSite = CallSite::new("concurrent", SpanKind::Internal, "m", "f", 1);

/// One scenario: how many records, the ring's shape, and how the consumer and exporters behave.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Records the producer offers (ids `0..n`).
    n: u64,
    capacity: usize,
    max_segment: usize,
    /// Exporter threads; runs are dealt to them in turn.
    exporters: usize,
    /// Runs each exporter holds before dropping the oldest: segments stay out of the ring meanwhile.
    hold: usize,
    /// Every how many consumer passes `take` is asked for everything (1: always).
    everything_every: u32,
    /// Every how many records one carries an `Extra` (0: none).
    extra_every: u64,
    /// Drop the ring (consumer side) while the exporters still hold runs of it.
    drop_ring_early: bool,
}

/// Records per scenario: small under Miri, which interprets every instruction.
fn scaled(native: u64, miri: u64) -> u64 {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

fn has_extra(plan: &Plan, id: u64) -> bool {
    plan.extra_every != 0 && id % plan.extra_every == 0
}

/// Record `id`: every field derived from the id, so any mix-up is visible.
fn record(plan: &Plan, id: u64) -> Record {
    let extra = has_extra(plan, id).then(|| {
        Box::new(Extra {
            name: Some(Cow::Owned(format!("span-{id}"))),
            attributes: vec![
                (Cow::Borrowed("id"), Value::U64(id)),
                (Cow::Owned(format!("k{id}")), Value::Str(Cow::Owned("x".repeat((id % 5) as usize + 1)))),
            ],
            status_message: (id % 3 == 2).then(|| Cow::Owned(format!("failed {id}"))),
            ..Extra::default()
        })
    });
    Record {
        trace_id: ((id as u128) << 64) | (!id as u128),
        site: Record::site_word(&SITE, (id % 3) as usize),
        span_id: id,
        parent_id: id ^ 0x5555_5555,
        start: id.wrapping_mul(2),
        end: id.wrapping_mul(2) + 1,
        extra,
    }
}

/// Checks that `r` is exactly what [`record`] made for its id.
fn check(plan: &Plan, r: &Record) {
    let id = r.span_id;
    assert!(id < plan.n, "id {id} was never pushed");
    assert_eq!(r.trace_id, ((id as u128) << 64) | (!id as u128), "record {id}: trace id");
    assert_eq!(r.site, Record::site_word(&SITE, (id % 3) as usize), "record {id}: site word");
    assert_eq!(r.parent_id, id ^ 0x5555_5555, "record {id}: parent id");
    assert_eq!((r.start, r.end), (id.wrapping_mul(2), id.wrapping_mul(2) + 1), "record {id}: times");
    match &r.extra {
        None => assert!(!has_extra(plan, id), "record {id} lost its Extra"),
        Some(extra) => {
            assert!(has_extra(plan, id), "record {id} has an Extra it was not given");
            assert_eq!(r.name(), format!("span-{id}"));
            assert_eq!(extra.attributes.len(), 2, "record {id}: attributes");
            assert!(matches!(extra.attributes[0], (ref k, Value::U64(v)) if k == "id" && v == id));
            let (k, v) = &extra.attributes[1];
            assert_eq!(k.as_ref(), format!("k{id}"));
            assert!(matches!(v, Value::Str(s) if s.len() == (id % 5) as usize + 1 && s.bytes().all(|b| b == b'x')));
            assert_eq!(
                extra.status_message.as_deref().map(str::to_owned),
                (id % 3 == 2).then(|| format!("failed {id}"))
            );
        }
    }
}

/// A tiny deterministic generator, so producer bursts and pauses differ without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// What the producer saw.
struct Produced {
    stored: u64,
    dropped: Vec<u64>,
}

/// What one exporter saw: every id, in the order it read them, and the runs it read.
struct Exported {
    ids: Vec<u64>,
    runs: u64,
}

fn run(plan: Plan) {
    let ring = Arc::new(Ring::new(plan.capacity, plan.max_segment));
    let done = Arc::new(AtomicBool::new(false));

    let producer = {
        let (ring, done) = (ring.clone(), done.clone());
        std::thread::spawn(move || {
            let mut produced = Produced { stored: 0, dropped: Vec::new() };
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ plan.n;
            let mut burst = 0u64;
            for id in 0..plan.n {
                let mut made = false;
                let pushed = ring.push(|| {
                    made = true;
                    record(&plan, id)
                });
                match pushed {
                    Push::Dropped => {
                        assert!(!made, "record {id} was made, then dropped by a full ring");
                        produced.dropped.push(id);
                    }
                    Push::Stored | Push::Wake => {
                        assert!(made, "record {id} stored without being made");
                        produced.stored += 1;
                    }
                }
                // Bursts of random length, then a pause: the ring sometimes fills, sometimes not.
                if burst == 0 {
                    burst = next(&mut rng) % (plan.capacity as u64 * 3) + 1;
                    for _ in 0..next(&mut rng) % 4 {
                        std::thread::yield_now();
                    }
                }
                burst -= 1;
            }
            done.store(true, Ordering::Release);
            produced
        })
    };

    let (senders, receivers): (Vec<_>, Vec<_>) = (0..plan.exporters).map(|_| mpsc::channel::<(u64, Run)>()).unzip();
    let exporters: Vec<_> = receivers
        .into_iter()
        .map(|rx| {
            std::thread::spawn(move || {
                let mut exported = Exported { ids: Vec::new(), runs: 0 };
                let mut held = VecDeque::new();
                let mut last_seq = None;
                for (seq, run) in rx {
                    assert!(last_seq < Some(seq), "runs arrive in the order they were taken");
                    last_seq = Some(seq);
                    let records = run.records();
                    assert_eq!(records.len(), run.len());
                    assert!(!records.is_empty(), "an empty run");
                    for r in records {
                        check(&plan, r);
                        if let Some(&last) = exported.ids.last() {
                            assert!(r.span_id > last, "ids not strictly increasing: {} after {last}", r.span_id);
                        }
                        exported.ids.push(r.span_id);
                    }
                    exported.runs += 1;
                    held.push_back(run);
                    if held.len() > plan.hold {
                        drop(held.pop_front());
                    }
                }
                drop(held);
                exported
            })
        })
        .collect();

    let consumer = {
        let (ring, done) = (ring.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seq = 0u64;
            let mut taken = 0u64;
            let mut pass = 0u32;
            loop {
                let finished = done.load(Ordering::Acquire);
                let everything = finished || pass % plan.everything_every == 0;
                let mut in_runs = 0u64;
                let n = ring.take(everything, &mut |run: Run| {
                    in_runs += run.len() as u64;
                    senders[(seq % senders.len() as u64) as usize].send((seq, run)).expect("exporter alive");
                    seq += 1;
                });
                assert_eq!(n as u64, in_runs, "take's count and its runs disagree");
                taken += n as u64;
                if finished && n == 0 {
                    break;
                }
                pass = pass.wrapping_add(1);
                if n == 0 {
                    std::thread::yield_now();
                }
            }
            let counts = ring.counts();
            drop(senders);
            if plan.drop_ring_early {
                // The exporters may still hold runs: their segments go back to a free list the ring
                // no longer owns, and are freed with it.
                drop(ring);
            }
            (taken, counts)
        })
    };

    let produced = producer.join().expect("producer");
    let (taken, counts) = consumer.join().expect("consumer");
    let exported: Vec<Exported> = exporters.into_iter().map(|e| e.join().expect("exporter")).collect();

    let dropped = produced.dropped.len() as u64;
    assert_eq!(produced.stored + dropped, plan.n);
    assert_eq!(counts, Counts { pushed: produced.stored, dropped, taken }, "{plan:?}");
    assert_eq!(counts.pushed + counts.dropped, counts.taken + counts.dropped, "recorded == taken + dropped: {plan:?}");

    // Every id exactly once: seen by one exporter, or dropped by the producer, never both.
    let mut seen = vec![0u32; plan.n as usize];
    for id in exported.iter().flat_map(|e| &e.ids) {
        seen[*id as usize] += 1;
    }
    for &id in &produced.dropped {
        assert_eq!(seen[id as usize], 0, "record {id} exported, and also counted as dropped ({plan:?})");
        seen[id as usize] = 1;
    }
    for (id, &n) in seen.iter().enumerate() {
        assert_eq!(n, 1, "record {id} exported or dropped {n} times, not once ({plan:?})");
    }
    let exported_total: u64 = exported.iter().map(|e| e.ids.len() as u64).sum();
    assert_eq!(exported_total, taken, "{plan:?}");
    if let [only] = &exported[..] {
        // One exporter sees the whole stream: its gaps are exactly the drops.
        let mut gaps = only.ids.first().copied().unwrap_or(plan.n);
        for w in only.ids.windows(2) {
            gaps += w[1] - w[0] - 1;
        }
        gaps += only.ids.last().map_or(0, |last| plan.n - 1 - last);
        assert_eq!(gaps, dropped, "gaps in the ids are the drops: {plan:?}");
    }
    if !plan.drop_ring_early {
        assert_eq!(Arc::strong_count(&ring), 1);
        assert_eq!(ring.len(), 0);
        assert!(ring.free.len.load(Ordering::Relaxed) <= ring.free.keep, "the free list stays bounded");
        // The ring still works after all that, and hands back what it stores next.
        let ring = Arc::into_inner(ring).expect("the only owner");
        let id = plan.n - 1;
        let again = ring.push(|| record(&plan, id));
        assert_ne!(again, Push::Dropped, "an emptied ring takes records again");
        let mut back = Vec::new();
        ring.take(true, &mut |run: Run| back.extend(run.records().iter().map(|r| r.span_id)));
        assert_eq!(back, vec![id]);
    }
    let runs: u64 = exported.iter().map(|e| e.runs).sum();
    eprintln!("{plan:?}: {} taken in {runs} runs, {dropped} dropped", taken);
    assert!(runs > 0 || taken == 0);
}

#[test]
fn wrap_around_with_one_exporter_holding_two_runs() {
    run(Plan {
        n: scaled(200_000, 2000),
        capacity: 64,
        max_segment: 16,
        exporters: 1,
        hold: 2,
        everything_every: 3,
        extra_every: 7,
        drop_ring_early: false,
    });
}

#[test]
fn two_exporters_hold_more_segments_than_the_ring_has() {
    run(Plan {
        n: scaled(200_000, 2000),
        capacity: 32,
        max_segment: 8,
        exporters: 2,
        hold: 6,
        everything_every: 2,
        extra_every: 5,
        drop_ring_early: false,
    });
}

#[test]
fn one_segment_ring_copies_its_tail_on_every_pass() {
    // A ring of one segment: full as soon as it is sealed, so drops are frequent, and every pass copies
    // the unsealed tail, leaving the rest of a partly copied segment for a later pass.
    run(Plan {
        n: scaled(100_000, 1500),
        capacity: 16,
        max_segment: 16,
        exporters: 1,
        hold: 0,
        everything_every: 1,
        extra_every: 3,
        drop_ring_early: false,
    });
}

#[test]
fn one_record_segments_churn_through_the_free_list() {
    run(Plan {
        n: scaled(50_000, 800),
        capacity: 8,
        max_segment: 1,
        exporters: 2,
        hold: 3,
        everything_every: 4,
        extra_every: 2,
        drop_ring_early: false,
    });
}

#[test]
fn the_ring_may_go_before_the_runs_it_handed_out() {
    run(Plan {
        n: scaled(50_000, 1000),
        capacity: 64,
        max_segment: 16,
        exporters: 2,
        hold: 8,
        everything_every: 5,
        extra_every: 4,
        drop_ring_early: true,
    });
}

#[test]
fn sealed_segments_only_never_the_tail_until_the_end() {
    // `everything` only once the producer is done: whole segments pass by pointer, and the last,
    // unsealed one is copied at the end.
    run(Plan {
        n: scaled(200_000, 2000),
        capacity: 128,
        max_segment: 32,
        exporters: 1,
        hold: 1,
        everything_every: u32::MAX,
        extra_every: 11,
        drop_ring_early: false,
    });
}

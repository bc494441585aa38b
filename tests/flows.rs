//! `#[flow]` and `#[step]` end to end: flows as trace roots (or sub-flows), steps as their children,
//! across threads and worker threads, with `?` failures, panics, loops and `parent = `.

mod common;
use common::*;
use std::collections::{HashMap, HashSet};
use telem::{SpanData, Status, Value};

/// Each exporter's counters add up: nothing recorded went missing.
fn assert_accounted() {
    let stats = telem::stats();
    for e in &stats.exporters {
        assert_eq!(e.recorded, e.exported + e.dropped + e.in_flight, "{e:?}");
    }
    assert_eq!(stats.ring_dropped, 0, "{stats:?}");
}

fn u64_attr(span: &SpanData, key: &str) -> u64 {
    match span.attribute(key) {
        Some(Value::U64(n)) => *n,
        other => panic!("{}: attribute {key} is {other:?}", span.name),
    }
}

/// A flow with a `let` step, a step in a loop (one span per pass) and an unnamed expression step.
#[telem::flow(fields(order = id))]
fn order(id: u64) -> u64 {
    #[step("load")]
    let lines: Vec<u64> = (0..id % 4 + 1).map(|n| n + id).collect();
    let mut total = 0;
    for line in &lines {
        #[step(name = "line", fields(order = id))]
        total += line;
    }
    #[step]
    total *= 2;
    total
}

#[test]
fn concurrent_flows_are_separate_traces_with_their_steps_under_their_roots() {
    let (telem, memory) = start();
    let next = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let id = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if id >= 100 {
                    break;
                }
                let expected: u64 = (0..id % 4 + 1).map(|n| n + id).sum::<u64>() * 2;
                assert_eq!(order(id), expected);
            });
        }
    });
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    let roots = all(&spans, "order");
    assert_eq!(roots.len(), 100);
    let by_trace: HashMap<_, _> = roots.iter().map(|r| (r.trace_id, *r)).collect();
    assert_eq!(by_trace.len(), 100, "each flow has its own trace id");
    let ids: HashSet<u64> = roots.iter().map(|r| u64_attr(r, "order")).collect();
    assert_eq!(ids.len(), 100);
    for root in &roots {
        assert_root(root);
    }
    let mut steps_per_trace: HashMap<_, usize> = HashMap::new();
    for step in spans.iter().filter(|s| s.name != "order") {
        let root = by_trace.get(&step.trace_id).unwrap_or_else(|| panic!("{step:?} is in no flow's trace"));
        assert_child(step, root);
        *steps_per_trace.entry(step.trace_id).or_default() += 1;
        let (index, name) = match step.name.as_str() {
            "load" => (0, "load"),
            "line" => (1, "line"),
            "order/step[2]" => (2, "order/step[2]"),
            other => panic!("unexpected span {other}"),
        };
        assert_eq!(u64_attr(step, "step.index"), index);
        assert_eq!(text(step, "step.name"), name);
        if step.name == "line" {
            assert_eq!(u64_attr(step, "order"), u64_attr(root, "order"), "a step of one flow in another's trace");
        }
    }
    for root in &roots {
        let id = u64_attr(root, "order");
        // load, one line per pass, the unnamed step.
        assert_eq!(steps_per_trace[&root.trace_id] as u64, 1 + (id % 4 + 1) + 1, "order {id}");
        let mut passes: Vec<u64> = spans
            .iter()
            .filter(|s| s.trace_id == root.trace_id && s.name == "line")
            .map(|s| u64_attr(s, "step.iteration"))
            .collect();
        passes.sort();
        assert_eq!(passes, (0..id % 4 + 1).collect::<Vec<_>>());
    }
}

#[telem::span]
fn handle_request() -> u64 {
    order(7)
}

#[test]
fn a_flow_called_inside_a_span_is_a_sub_flow_of_its_trace() {
    let (telem, memory) = start();
    handle_request();
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    let caller = one(&spans, "handle_request");
    let flow = one(&spans, "order");
    assert_root(caller);
    assert_child(flow, caller);
    assert!(spans.iter().all(|s| s.trace_id == caller.trace_id));
    assert_child(one(&spans, "load"), flow);
}

#[telem::flow(parent = ctx, links(linked))]
fn resume(ctx: &telem::Context, linked: Option<&telem::Context>) -> u32 {
    #[step("work")]
    let n = 41;
    n + 1
}

#[test]
fn a_flow_with_parent_continues_that_trace() {
    let (telem, memory) = start();
    let ctx = telem::Context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    let other = telem::Context::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    // Called inside another span: `parent = ` still wins.
    telem::in_span("unrelated", |_| assert_eq!(resume(&ctx, Some(&other)), 42));
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    let root = one(&spans, "resume");
    assert_eq!(root.trace_id, ctx.trace_id);
    assert_eq!(root.parent_id, Some(ctx.span_id));
    assert_eq!(root.links.len(), 1);
    assert_eq!((root.links[0].trace_id, root.links[0].span_id), (other.trace_id, other.span_id));
    assert_child(one(&spans, "work"), root);
    assert_ne!(one(&spans, "unrelated").trace_id, ctx.trace_id);
}

#[telem::span]
async fn leaf(i: u64) -> u64 {
    tokio::task::yield_now().await;
    i
}

#[telem::span]
async fn unrelated() {
    tokio::task::yield_now().await;
}

#[telem::flow(fields(job = job))]
async fn pipeline(job: u64) -> u64 {
    #[step("fetch")]
    let a = {
        tokio::task::yield_now().await;
        leaf(job).await
    };
    let mut sum = a;
    for i in 0..3 {
        #[step("pass")]
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            sum += leaf(i).await;
        }
    }
    #[step("spawned")]
    let b = tokio::spawn(async move {
        tokio::task::yield_now().await;
        job * 2
    })
    .await
    .unwrap();
    #[step]
    let c = telem::spawn(move || job).join().unwrap();
    sum + b + c
}

#[test]
fn async_steps_stay_under_their_root_across_worker_threads() {
    let (telem, memory) = start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for job in 0..20u64 {
            tasks.push(tokio::spawn(pipeline(job)));
            // Root spans polled on the same workers while steps are suspended: they must stay roots.
            tasks.push(tokio::spawn(async {
                unrelated().await;
                0
            }));
        }
        for (n, task) in tasks.into_iter().enumerate() {
            let out = task.await.unwrap();
            if n % 2 == 0 {
                let job = n as u64 / 2;
                assert_eq!(out, job + 3 + job * 2 + job);
            }
        }
    });
    drop(rt);
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    let roots: HashMap<_, _> = all(&spans, "pipeline").into_iter().map(|r| (r.trace_id, r)).collect();
    assert_eq!(roots.len(), 20);
    let by_id: HashMap<_, _> = spans.iter().map(|s| (s.span_id, s)).collect();
    for u in all(&spans, "unrelated") {
        assert_root(u);
    }
    for s in spans.iter().filter(|s| !matches!(s.name.as_str(), "pipeline" | "unrelated")) {
        let root = roots.get(&s.trace_id).unwrap_or_else(|| panic!("{s:?} is in no pipeline's trace"));
        if s.name == "leaf" {
            let parent = by_id[&s.parent_id.expect("a parent")];
            assert!(matches!(parent.name.as_str(), "fetch" | "pass"), "leaf under {}", parent.name);
            assert_child(parent, root);
        } else {
            assert_child(s, root);
        }
    }
    assert_eq!(all(&spans, "pass").len(), 60);
    assert_eq!(all(&spans, "spawned").len(), 20);
    assert_eq!(all(&spans, "pipeline/step[3]").len(), 20);
    assert_eq!(all(&spans, "leaf").len(), 80);
}

#[derive(Debug)]
struct Declined;
impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

fn charge(amount: u32) -> Result<u32, Declined> {
    if amount > 100 {
        Err(Declined)
    } else {
        Ok(amount)
    }
}

#[telem::flow(err)]
fn pay(input: &str, boom: bool) -> Result<u32, String> {
    #[step("parse")]
    let amount: u32 = input.parse::<u32>().map_err(|e| e.to_string())?;
    #[step("charge")]
    let charged = charge(amount).map_err(|e| e.to_string());
    #[step("charge again")]
    charge(amount).map_err(|e| format!("again: {e}"))?;
    #[step("explode")]
    if boom {
        panic!("the card reader exploded");
    }
    charged
}

#[telem::flow]
fn count(n: u32) -> Option<u32> {
    let mut seen = 0;
    for i in 0..n {
        #[step("visit")]
        seen += Some(i).filter(|i| *i < 3)?.min(1);
    }
    Some(seen)
}

#[test]
fn failing_and_panicking_steps_end_in_error_and_loop_steps_count_passes() {
    let (telem, memory) = start();
    assert_eq!(pay("12x", false), Err("invalid digit found in string".to_owned()));
    assert_eq!(pay("500", false), Err("again: card declined".to_owned()));
    let panicked = std::panic::catch_unwind(|| pay("5", true));
    assert!(panicked.is_err());
    assert_eq!(count(3), Some(2));
    assert_eq!(count(5), None);
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    let pays = all(&spans, "pay");
    assert_eq!(pays.len(), 3);
    let parse: Vec<_> = all(&spans, "parse").into_iter().map(|s| s.status.clone()).collect();
    assert_eq!(parse[0], Status::Error("invalid digit found in string".into()), "the `?` error's message");
    assert_eq!(&parse[1..], [Status::Unset, Status::Unset]);
    // `charge` does not `?` its error: the step succeeds, its value is returned later.
    assert!(all(&spans, "charge").iter().all(|s| s.status == Status::Unset));
    let again = all(&spans, "charge again");
    assert_eq!(again[0].status, Status::Error("again: card declined".into()));
    let explode = all(&spans, "explode");
    assert_eq!(explode.len(), 1);
    assert!(matches!(explode[0].status, Status::Error(_)), "a panicking step fails: {:?}", explode[0].status);
    assert_child(explode[0], pays[2]);
    assert!(matches!(pays[2].status, Status::Error(_)));

    let counts = all(&spans, "count");
    let visits: Vec<_> = spans.iter().filter(|s| s.name == "visit").collect();
    let passes = |root: &SpanData| -> Vec<(u64, bool)> {
        visits
            .iter()
            .filter(|v| v.trace_id == root.trace_id)
            .map(|v| (u64_attr(v, "step.iteration"), v.status == Status::Unset))
            .collect()
    };
    assert_eq!(passes(counts[0]), [(0, true), (1, true), (2, true)]);
    // `?` on `None` at the fourth pass fails that step and ends the loop.
    assert_eq!(passes(counts[1]), [(0, true), (1, true), (2, true), (3, false)]);
    assert_eq!(visits.iter().find(|v| v.status != Status::Unset).unwrap().status, Status::Error("none".into()));
}

#[telem::flow]
fn split(text: &str) -> (String, usize) {
    #[step("cut")]
    let (head, tail) = text.split_once(' ').unwrap_or((text, ""));
    #[step("else")]
    let Some(first) = tail.chars().next() else {
        return (head.to_owned(), 0);
    };
    #[step]
    let mut len = tail.len();
    len += usize::from(first == 'b');
    (head.to_owned(), len)
}

#[test]
fn let_step_bindings_are_visible_after_the_step() {
    let (telem, memory) = start();
    assert_eq!(split("a bc"), ("a".to_owned(), 3));
    assert_eq!(split("a"), ("a".to_owned(), 0));
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    assert_eq!(all(&spans, "split").len(), 2);
    assert_eq!(all(&spans, "cut").len(), 2);
    assert_eq!(all(&spans, "else").len(), 2);
    assert_eq!(all(&spans, "split/step[2]").len(), 1, "the second call returned in the `else`");
}

#[telem::flow]
fn nested(fail: bool) -> Result<u32, String> {
    #[step("outer")]
    let n = {
        #[step("inner")]
        let n: u32 = if fail { Err("inner failed".to_owned())? } else { 1 };
        n + 1
    };
    Ok(n)
}

#[test]
fn a_step_inside_a_step_is_its_child_and_a_failing_question_mark_fails_both() {
    let (telem, memory) = start();
    assert_eq!(nested(false), Ok(2));
    assert_eq!(nested(true), Err("inner failed".to_owned()));
    assert!(telem.shutdown());
    assert_accounted();
    let spans = memory.spans();
    let roots = all(&spans, "nested");
    let (outer, inner) = (all(&spans, "outer"), all(&spans, "inner"));
    for i in 0..2 {
        assert_child(outer[i], roots[i]);
        assert_child(inner[i], outer[i]);
        assert_eq!((u64_attr(outer[i], "step.index"), u64_attr(inner[i], "step.index")), (0, 1));
    }
    assert_eq!((&outer[0].status, &inner[0].status), (&Status::Unset, &Status::Unset));
    let failed = Status::Error("inner failed".into());
    assert_eq!((&outer[1].status, &inner[1].status), (&failed, &failed));
}

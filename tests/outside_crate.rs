//! A crate outside the workspace that depends only on `telem` compiles sync, async (tokio, several
//! workers), generic and trait methods, and gets correct span trees.
//!
//! Builds and runs `tests/outside` (its own workspace, path dependency on this crate) with
//! `cargo run`, its store pointed at a fresh directory, then reads the one session file it wrote and
//! checks the fields and the trees against the call structure of `tests/outside/src/main.rs`.
//! The nested build uses `target/outside` so that repeated runs are incremental. Nothing here depends
//! on timing: the trees follow from the calls, and the threads named in assertions are either named
//! by the program (`poll-a`, `poll-b`, `poll-c`) or fixed by tokio (`block_on` polls on `main`,
//! spawned tasks only ever run on workers).

use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One span of the store file.
#[derive(Debug)]
struct Rec {
    /// Its position in the file, from 1 (messages call it a line).
    line: usize,
    trace: String,
    span: String,
    parent: Option<String>,
    name: String,
    thread: String,
    thread_id: u64,
    status: String,
    status_message: Option<String>,
    attributes: serde_json::Map<String, Value>,
}

impl Rec {
    fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

/// One span read back through `telem::store`, as a `Rec`; problems with its fields go to `problems`.
fn to_rec(n: usize, s: &telem::store::StoredSpan, problems: &mut Vec<String>) -> Rec {
    let mut bad = |what: &str| problems.push(format!("span {n}: {what}: {s:?}"));
    if &*s.service != "telem-outside" {
        bad("`service` is not the executable's name `telem-outside`");
    }
    if s.kind != telem::SpanKind::Internal {
        bad("`kind` is not `internal`");
    }
    let trace = s.trace_id.to_string();
    if !is_lower_hex(&trace, 32) {
        bad("`trace_id` is not 32 lowercase hex digits (not all zero)");
    }
    let span = s.span_id.to_string();
    if !is_lower_hex(&span, 16) {
        bad("`span_id` is not 16 lowercase hex digits (not all zero)");
    }
    let parent = s.parent_id.map(|p| p.to_string());
    if parent.as_deref().is_some_and(|p| !is_lower_hex(p, 16)) {
        bad("`parent_id` is not 16 lowercase hex digits (not all zero)");
    }
    if s.end_unix_ns < s.start_unix_ns || s.start_unix_ns == 0 {
        bad("start and end are not Unix times in order");
    }
    if s.file.is_empty() || s.line == 0 {
        bad("no source location");
    }
    // Attributes as JSON values, which is what the checks below were written against.
    let attributes = s
        .attributes
        .iter()
        .map(|(k, v)| {
            let v = match v {
                telem::Value::Bool(b) => Value::from(*b),
                telem::Value::I64(i) => Value::from(*i),
                telem::Value::U64(u) => Value::from(*u),
                telem::Value::F64(f) => Value::from(*f),
                telem::Value::Str(t) => Value::from(t.to_string()),
            };
            (k.clone(), v)
        })
        .collect();
    let (status, status_message) = match &s.status {
        telem::Status::Error(m) => ("error", Some(m.to_string())),
        other => (other.as_str(), None),
    };
    Rec {
        line: n,
        trace,
        span,
        parent,
        name: s.name.to_string(),
        thread: s.thread.to_string(),
        thread_id: s.thread_id,
        status: status.to_owned(),
        status_message,
        attributes,
    }
}

/// Runs the outside crate; returns its stdout, the spans of its store file and the store directory.
fn run_outside_crate() -> (String, Vec<telem::store::StoredSpan>, PathBuf) {
    let (stdout, stderr, store_dir) = cargo_run_outside(&[]);
    let files: Vec<PathBuf> = std::fs::read_dir(&store_dir)
        .unwrap_or_else(|e| panic!("no store directory {}: {e}\n--- stderr\n{stderr}", store_dir.display()))
        .map(|e| e.expect("store directory entry").path())
        .collect();
    assert!(
        files.len() == 1 && files[0].extension().is_some_and(|e| e == "telem"),
        "expected exactly one .telem session file in {}, found {files:?}",
        store_dir.display()
    );
    let spans = telem::store::read_file(&files[0]).unwrap_or_else(|e| panic!("read the store file: {e}"));
    (stdout, spans, store_dir)
}

/// `cargo run` of the outside crate with `extra_args`; returns stdout, stderr and the store directory.
fn cargo_run_outside(extra_args: &[&str]) -> (String, String, PathBuf) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crate_dir = workspace.join("tests").join("outside");
    let target_dir = workspace.join("target").join("outside");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let store_dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("outside-store-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store_dir);

    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("run")
        .args(extra_args)
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("TELEM_STORE_DIR", &store_dir)
        .env("TELEM_CONSOLE", "0");
    // Whatever the caller's environment says about telem, the program must record into the store.
    for var in [
        "TELEM_ENABLED",
        "TELEM_STORE",
        "TELEM_RING_CAPACITY",
        "TELEM_FLUSH_INTERVAL_MS",
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
    ] {
        cmd.env_remove(var);
    }
    let started = std::time::Instant::now();
    let out = cmd.output().expect("cannot run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("cargo run of tests/outside took {:.1?}", started.elapsed());
    assert!(
        out.status.success(),
        "`cargo run` of tests/outside failed ({}).\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // telem reports configuration and exporter problems on stderr, prefixed `[telem]`.
    assert!(!stderr.contains("[telem]"), "telem reported a problem:\n{stderr}");
    (stdout, stderr, store_dir)
}

#[test]
fn compiled_out_the_same_program_runs_and_records_nothing() {
    let (stdout, _, store_dir) = cargo_run_outside(&["--no-default-features"]);
    let line: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("unexpected stdout ({e}):\n{stdout}"));
    assert!(line.get("compiled_out").is_some(), "{stdout}");
    assert!(!store_dir.exists(), "compiled out, yet a store was written in {}", store_dir.display());
}

/// `name → parent name` (`None`: a root) for every span the program records, with how many of each.
const TREE: &[(&str, Option<&str>, usize)] = &[
    // sync
    ("sync_root", None, 1),
    ("sync_mid", Some("sync_root"), 1),
    ("sync_leaf", Some("sync_mid"), 2),
    ("generic_sum", Some("sync_root"), 1),
    ("Counter::new", Some("sync_root"), 1),
    ("bump", Some("sync_root"), 1),
    ("get", Some("sync_root"), 1),
    ("area", Some("sync_root"), 1),
    ("describe", Some("sync_root"), 1),
    ("sides", Some("describe"), 1),
    ("push", Some("sync_root"), 1),
    ("parse_num", Some("sync_root"), 1),
    ("manual", Some("sync_root"), 1),
    ("in_manual", Some("manual"), 1),
    ("closure", Some("sync_root"), 1),
    ("in_closure", Some("closure"), 1),
    ("after_manual", Some("sync_root"), 1),
    // one future polled on three threads
    ("cross_thread_parent", None, 1),
    ("before_hop", Some("cross_thread_parent"), 1),
    ("after_hop", Some("cross_thread_parent"), 1),
    ("stray_after_poll", None, 1),
    // tokio
    ("async_root", None, 1),
    ("fetch", None, 2), // parent: async_root (key 5) or fetch_boxed (key 6), checked below
    ("fetch_boxed", Some("async_root"), 1),
    ("gather", Some("async_root"), 1),
    ("add_later", Some("async_root"), 1),
    ("boxed_job", Some("async_root"), 1),
    ("impl_job", Some("async_root"), 1),
    ("child_after", None, 2), // parent: boxed_job or impl_job, checked below
    // Two `tokio::spawn`s of an `async fn` in `async_root`, parents checked below: id 3 bound with
    // `telem::with_current_context` (a child of `async_root`), id 4 bare (a root: an `async fn` span
    // starts at its first poll, on a worker where nothing is current).
    ("spawned_async_fn", None, 2),
    ("hop", Some("async_root"), 4),
    ("awaiting_parent", Some("hop"), 4),
    ("spawned_leaf", Some("awaiting_parent"), 16),
    ("after_awaits", Some("awaiting_parent"), 4),
    ("sync_in_async", Some("awaiting_parent"), 4),
];

/// Roots and the spans that must share their trace.
const TRACES: &[(&str, &[&str])] = &[
    (
        "sync_root",
        &[
            "sync_mid",
            "sync_leaf",
            "generic_sum",
            "Counter::new",
            "bump",
            "get",
            "area",
            "describe",
            "sides",
            "push",
            "parse_num",
            "manual",
            "in_manual",
            "closure",
            "in_closure",
            "after_manual",
        ],
    ),
    ("cross_thread_parent", &["before_hop", "after_hop"]),
    ("stray_after_poll", &[]),
    (
        "async_root",
        &[
            "fetch",
            "gather",
            "add_later",
            "boxed_job",
            "impl_job",
            "child_after",
            "hop",
            "awaiting_parent",
            "spawned_leaf",
            "after_awaits",
            "sync_in_async",
        ],
    ),
];

#[test]
fn outside_crate_compiles_and_stores_correct_trees() {
    let (stdout, spans, store_dir) = run_outside_crate();
    let mut problems = Vec::new();

    // stdout: informational poll-thread counts, then the store exporter's counters.
    let mut stats = None;
    for line in stdout.lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.get("stats").is_some() => stats = v.get("stats").cloned(),
            Ok(v) if v.get("poll_threads").is_some() => eprintln!("outside: {v}"),
            _ => problems.push(format!("unexpected stdout line: {line}")),
        }
    }
    let stats = stats.unwrap_or_else(|| panic!("no stats line on stdout:\n{stdout}"));

    // Fields of every span.
    let recs: Vec<Rec> = spans.iter().enumerate().map(|(i, s)| to_rec(i + 1, s, &mut problems)).collect();
    let lines = recs.len() as u64;
    for key in ["recorded", "exported"] {
        if stats.get(key).and_then(Value::as_u64) != Some(lines) {
            problems
                .push(format!("the store file has {lines} spans but the program's stats say {key} = {}", stats[key]));
        }
    }

    // Ids: unique span ids, parents in the file and in the same trace, one root per trace.
    let mut by_id: HashMap<&str, &Rec> = HashMap::new();
    for r in &recs {
        if by_id.insert(&r.span, r).is_some() {
            problems.push(format!("line {}: span_id {} is not unique", r.line, r.span));
        }
    }
    let mut roots_per_trace: HashMap<&str, usize> = HashMap::new();
    for r in &recs {
        match &r.parent {
            None => *roots_per_trace.entry(&r.trace).or_default() += 1,
            Some(p) => match by_id.get(p.as_str()) {
                None => problems.push(format!("line {} ({}): parent_id {p} is not a span in the file", r.line, r.name)),
                Some(parent) if parent.trace != r.trace => problems.push(format!(
                    "line {} ({}): parent {} (line {}) is in trace {}, the span in trace {}",
                    r.line, r.name, parent.name, parent.line, parent.trace, r.trace
                )),
                Some(_) => {}
            },
        }
    }
    for r in &recs {
        if roots_per_trace.get(r.trace.as_str()).copied().unwrap_or(0) != 1 {
            problems.push(format!(
                "line {} ({}): trace {} has {} roots in the file, not 1",
                r.line,
                r.name,
                r.trace,
                roots_per_trace.get(r.trace.as_str()).copied().unwrap_or(0)
            ));
        }
    }

    // The tree shape.
    let parent_of = |r: &Rec| r.parent.as_deref().and_then(|p| by_id.get(p).copied());
    let named = |name: &str| -> Vec<&Rec> { recs.iter().filter(|r| r.name == name).collect() };
    let one = |name: &str| match named(name)[..] {
        [r] => Some(r),
        _ => None,
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &recs {
        *counts.entry(&r.name).or_default() += 1;
    }
    for &(name, parent, count) in TREE {
        let got = counts.remove(name).unwrap_or(0);
        if got != count {
            problems.push(format!("{count} span(s) named `{name}` expected, {got} found"));
        }
        if matches!(name, "child_after" | "spawned_async_fn" | "fetch") {
            continue;
        }
        for r in named(name) {
            let actual = parent_of(r).map(|p| p.name.as_str());
            if actual != parent {
                problems.push(format!(
                    "`{name}` (line {}, thread {:?}) has parent {actual:?}, expected {parent:?}",
                    r.line, r.thread
                ));
            }
        }
    }
    if !counts.is_empty() {
        problems.push(format!("unexpected spans: {counts:?}"));
    }
    for &(root, members) in TRACES {
        let Some(root) = one(root) else { continue };
        for &member in members {
            for r in named(member) {
                if r.trace != root.trace {
                    problems.push(format!("`{member}` (line {}) is not in the trace of `{}`", r.line, root.name));
                }
            }
        }
    }

    // Concurrent instances hang under their own parent: compare the `id` fields along each edge.
    let same_id = |child: &str, parent: &str, problems: &mut Vec<String>| {
        for r in named(child) {
            let p = parent_of(r);
            let (mine, theirs) = (r.attr("id"), p.and_then(|p| p.attr("id")));
            if p.is_none_or(|p| p.name != parent) || mine.is_none() || mine != theirs {
                problems.push(format!(
                    "`{child}` id={mine:?} (line {}) hangs under {:?} id={theirs:?}, expected `{parent}` with the same id",
                    r.line,
                    p.map(|p| &p.name)
                ));
            }
        }
    };
    same_id("spawned_leaf", "awaiting_parent", &mut problems);
    same_id("after_awaits", "awaiting_parent", &mut problems);
    same_id("sync_in_async", "awaiting_parent", &mut problems);
    same_id("awaiting_parent", "hop", &mut problems);
    for r in named("child_after") {
        let expected = match r.attr("id").and_then(Value::as_u64) {
            Some(1) => "boxed_job",
            Some(2) => "impl_job",
            other => {
                problems.push(format!("`child_after` (line {}) has id {other:?}", r.line));
                continue;
            }
        };
        let p = parent_of(r);
        if p.is_none_or(|p| p.name != expected || p.attr("id") != r.attr("id")) {
            problems.push(format!(
                "`child_after` (line {}) hangs under {:?}, expected `{expected}`",
                r.line,
                p.map(|p| &p.name)
            ));
        }
    }
    for r in named("fetch") {
        let expected = match r.attr("key").and_then(Value::as_u64) {
            Some(5) => "async_root",
            Some(6) => "fetch_boxed",
            other => {
                problems.push(format!("`fetch` (line {}) has key {other:?}", r.line));
                continue;
            }
        };
        let p = parent_of(r);
        if p.is_none_or(|p| p.name != expected) {
            problems.push(format!(
                "`fetch` (line {}) hangs under {:?}, expected `{expected}`",
                r.line,
                p.map(|p| &p.name)
            ));
        }
    }
    for r in named("spawned_async_fn") {
        let p = parent_of(r).map(|p| p.name.as_str());
        let root_trace = one("async_root").map(|root| &root.trace);
        match r.attr("id").and_then(Value::as_u64) {
            Some(3) if p == Some("async_root") && Some(&r.trace) == root_trace => {}
            Some(4) if p.is_none() && Some(&r.trace) != root_trace => {}
            id => problems.push(format!(
                "`spawned_async_fn` id={id:?} (line {}) has parent {p:?}: expected id 3 (with_current_context) under \
                 `async_root` in its trace, id 4 (spawned bare) a root of its own trace",
                r.line
            )),
        }
    }
    let mut rounds: HashSet<(u64, u64)> = HashSet::new();
    for r in named("spawned_leaf") {
        let field = |k| r.attr(k).and_then(Value::as_u64).unwrap_or(u64::MAX);
        rounds.insert((field("id"), field("round")));
    }
    if rounds.len() != 16 || rounds.iter().any(|&(id, round)| id > 3 || round > 3) {
        problems.push(format!("`spawned_leaf` (id, round) pairs are not 0..4 × 0..4: {rounds:?}"));
    }

    // Threads: the links hold across threads.
    if let (Some(parent), Some(before), Some(after), Some(stray)) =
        (one("cross_thread_parent"), one("before_hop"), one("after_hop"), one("stray_after_poll"))
    {
        let threads = [&before.thread, &after.thread, &parent.thread, &stray.thread];
        if threads != ["poll-a", "poll-b", "poll-c", "poll-a"] {
            problems.push(format!(
                "threads of before_hop, after_hop, cross_thread_parent, stray_after_poll: {threads:?}, expected poll-a, poll-b, poll-c, poll-a"
            ));
        }
        let ids = [before.thread_id, after.thread_id, parent.thread_id];
        if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
            problems
                .push(format!("thread_ids of before_hop, after_hop, cross_thread_parent are not distinct: {ids:?}"));
        }
        if stray.trace == parent.trace {
            problems
                .push("stray_after_poll is in the trace of cross_thread_parent: the poll leaked its context".into());
        }
    }
    if let Some(root) = one("async_root") {
        if root.thread != "main" {
            problems.push(format!("async_root ended on {:?}, not on main (block_on)", root.thread));
        }
        for name in ["boxed_job", "impl_job", "spawned_async_fn", "hop", "awaiting_parent", "spawned_leaf"] {
            for r in named(name) {
                if r.thread_id == root.thread_id || r.thread == "main" {
                    problems.push(format!("`{name}` (line {}) ended on the main thread, not on a worker", r.line));
                }
            }
        }
    }

    // Fields, attributes and status reach the store.
    let expect_attr = |name: &str, key: &str, value: Value, problems: &mut Vec<String>| {
        if let Some(r) = one(name) {
            if r.attr(key) != Some(&value) {
                problems.push(format!("`{name}` attribute {key} = {:?}, expected {value}", r.attr(key)));
            }
        }
    };
    expect_attr("generic_sum", "items", Value::from("[1, 2, 3]"), &mut problems);
    expect_attr("push", "item", Value::from("\"a\""), &mut problems);
    expect_attr("manual", "step", Value::from(1), &mut problems);
    expect_attr("closure", "via", Value::from("in_span"), &mut problems);
    expect_attr("fetch_boxed", "key", Value::from(6), &mut problems);
    for r in &recs {
        let failed = r.name == "parse_num";
        let ok = if failed {
            r.status == "error" && r.status_message.as_deref().is_some_and(|m| m.contains("invalid digit"))
        } else {
            r.status == "unset" && r.status_message.is_none()
        };
        if !ok {
            problems.push(format!("`{}` (line {}) has status {} {:?}", r.name, r.line, r.status, r.status_message));
        }
    }

    if !problems.is_empty() {
        let mut tree = String::new();
        for r in &recs {
            tree += &format!(
                "  {:>2} {} {:<20} <- {:<20} thread {:?} ({}) {:?}\n",
                r.line,
                &r.trace[..r.trace.len().min(8)],
                r.name,
                parent_of(r).map_or("-", |p| p.name.as_str()),
                r.thread,
                r.thread_id,
                r.attributes
            );
        }
        panic!(
            "{} problem(s) in {}:\n- {}\nspans:\n{tree}",
            problems.len(),
            store_dir.display(),
            problems.join("\n- ")
        );
    }
    let _ = std::fs::remove_dir_all(&store_dir);
}

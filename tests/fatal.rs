//! The fatal path: a child process that dies of a panic inside nested spans still leaves those spans
//! in the store, failed with the panic's message — with unwinding and with `panic = "abort"`.

use std::path::Path;
use std::process::Command;

/// Runs `cargo run --example events -- child` (the example's child mode: nested spans, a panic on
/// the main thread) with the store in a directory of its own, and returns what the store holds.
fn run_child(tag: &str, extra_args: &[&str]) -> (String, Vec<telem::store::StoredSpan>) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fatal-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    // The unwinding build is the quickstart's (same profile and features): built once for both.
    let target = if extra_args.is_empty() { "quickstart".to_owned() } else { format!("fatal-{tag}") };
    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "events"])
        .args(extra_args)
        .args(["--", "child"])
        .current_dir(workspace)
        // Target directories of their own: the one running this test may be locked by its build,
        // and an abort build must not replace the unwinding one.
        .env("CARGO_TARGET_DIR", workspace.join("target").join(target))
        .env("TELEM_STORE_DIR", &store)
        .env("RUST_BACKTRACE", "0")
        .env_remove("TELEM_ENABLED")
        .env_remove("OTEL_SDK_DISABLED")
        .output()
        .expect("cannot run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the child must die of its panic:\n{stderr}");
    assert!(stderr.contains("the child gives up"), "the previous hook still prints the panic:\n{stderr}");
    let spans = telem::store::read_dir(&store).unwrap_or_else(|e| panic!("{e}\n{stderr}"));
    let _ = std::fs::remove_dir_all(&store);
    (stderr, spans)
}

fn check(stderr: &str, spans: &[telem::store::StoredSpan]) {
    for name in ["outer", "inner"] {
        let span = spans.iter().find(|s| &*s.name == name).unwrap_or_else(|| panic!("{name} not stored:\n{stderr}"));
        assert_eq!(
            span.status,
            telem::Status::Error("the child gives up".into()),
            "{name} failed with the panic's message"
        );
        let exception = span
            .events
            .iter()
            .find(|e| &*e.name == "exception")
            .unwrap_or_else(|| panic!("{name} has no exception event: {:?}", span.events));
        assert_eq!(exception.field("exception.message"), Some(&telem::Value::from("the child gives up")));
        let location = exception.field("code.location").map(|v| v.to_string()).unwrap_or_default();
        assert!(location.starts_with("examples/events.rs:"), "{name}: the panic's location, got {location:?}");
    }
    let (outer, inner) =
        (spans.iter().find(|s| &*s.name == "outer").unwrap(), spans.iter().find(|s| &*s.name == "inner").unwrap());
    assert_eq!(inner.parent_id, Some(outer.span_id), "still nested");
}

#[test]
fn a_child_that_panics_inside_spans_leaves_them_in_the_store() {
    let (stderr, spans) = run_child("unwind", &[]);
    check(&stderr, &spans);
}

#[test]
fn the_same_with_panic_abort() {
    let (stderr, spans) = run_child("abort", &["--config", "profile.dev.panic=\"abort\""]);
    check(&stderr, &spans);
}

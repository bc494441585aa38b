//! The README's first command, checked: `cargo run --example quickstart` prints spans and leaves a
//! store that reads back whole, with ids of the right widths and parents that form trees.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

fn hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn quickstart_prints_spans_and_writes_a_store_of_trees() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("quickstart-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "quickstart"])
        .current_dir(workspace)
        // A target directory of its own: the one running this test may be locked by its build.
        .env("CARGO_TARGET_DIR", workspace.join("target").join("quickstart"))
        .env("TELEM_STORE_DIR", &store)
        .env_remove("TELEM_ENABLED")
        .env_remove("TELEM_CONSOLE")
        .env_remove("OTEL_SDK_DISABLED")
        .output()
        .expect("cannot run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "quickstart failed:\n{stderr}");
    // Span lines; event lines (`[telem] ERROR exception …`) name a level first.
    let is_event = |l: &str| telem::Level::ALL.iter().any(|lv| l.starts_with(&format!("[telem] {lv} ")));
    let printed = stderr.lines().filter(|l| l.starts_with("[telem] ") && !is_event(l)).count();
    assert!(printed >= 10, "expected span lines on stderr:\n{stderr}");

    let files: Vec<_> = std::fs::read_dir(&store).expect("store directory").map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let spans = telem::store::read_file(&files[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spans.len(), printed, "every printed span is stored");
    let ids: HashSet<(String, String)> =
        spans.iter().map(|s| (s.trace_id.to_string(), s.span_id.to_string())).collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
    let mut roots: HashMap<String, usize> = HashMap::new();
    for s in &spans {
        let (trace, span) = (s.trace_id.to_string(), s.span_id.to_string());
        assert!(hex(&trace, 32) && hex(&span, 16), "{s:?}");
        match s.parent_id {
            None => *roots.entry(trace).or_default() += 1,
            Some(parent) => {
                let parent = parent.to_string();
                assert!(hex(&parent, 16), "{s:?}");
                assert!(ids.contains(&(trace, parent)), "parent of {s:?} is not in the same trace in the store");
            }
        }
    }
    assert!(roots.values().all(|&n| n == 1), "one root per trace: {roots:?}");
    let names: HashSet<&str> = spans.iter().map(|s| &*s.name).collect();
    for name in ["import", "parse_line", "checkout", "price", "render_receipt", "report"] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let failed: Vec<&str> = spans.iter().filter(|s| s.is_error()).map(|s| &*s.name).collect();
    assert!(failed.contains(&"parse_line") && failed.contains(&"price"), "the panic and the error: {failed:?}");
    let _ = std::fs::remove_dir_all(&store);
}

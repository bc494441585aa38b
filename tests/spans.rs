//! `#[span]` end to end: annotate, run, read what the exporter received.

mod common;
use common::*;
use telem::{Status, Value};

#[telem::span]
fn parse(input: &str) -> usize {
    tokenize(input).len() + tokenize(input).len()
}

#[telem::span]
fn tokenize(input: &str) -> Vec<&str> {
    input.split(' ').collect()
}

#[test]
fn nested_calls_form_one_tree_per_root_call() {
    let (telem, memory) = start();
    parse("a b");
    parse("c");
    assert!(telem.shutdown());
    let spans = memory.spans();
    assert_eq!(spans.len(), 6);
    let roots = all(&spans, "parse");
    assert_eq!(roots.len(), 2);
    assert_ne!(roots[0].trace_id, roots[1].trace_id, "each root call starts a new trace");
    for root in roots {
        assert_root(root);
        let children: Vec<_> = spans.iter().filter(|s| s.parent_id == Some(root.span_id)).collect();
        assert_eq!(children.len(), 2);
        children.iter().for_each(|c| assert_child(c, root));
        assert!(children.iter().all(|c| c.name == "tokenize"));
        assert!(root.start_unix_ns <= children[0].start_unix_ns && children[1].end_unix_ns <= root.end_unix_ns);
    }
    let root = &spans.iter().find(|s| s.name == "parse").unwrap();
    assert_eq!(root.module, "spans");
    assert!(root.file.ends_with("spans.rs"));
    assert_eq!(root.line, 8);
    assert_eq!(root.status, Status::Unset);
    assert!(root.attributes.is_empty(), "nothing recorded by default");
}

#[derive(Debug)]
struct Secret;

#[telem::span(name = "db.query", kind = client, args, skip(password), fields(table = "users", rows = n * 2, who = Secret), ret)]
fn query(user: &str, password: &str, n: usize) -> Vec<u8> {
    let _ = password;
    vec![0; n.min(user.len())]
}

#[test]
fn options_name_kind_args_skip_fields_ret() {
    let (telem, memory) = start();
    query("ann", "hunter2", 2);
    assert!(telem.shutdown());
    let spans = memory.spans();
    let q = one(&spans, "db.query");
    assert_eq!(q.kind, telem::SpanKind::Client);
    assert_eq!(text(q, "user"), "\"ann\"");
    assert_eq!(q.attribute("password"), None, "skipped");
    assert_eq!(text(q, "n"), "2");
    assert_eq!(q.attribute("table"), Some(&Value::Str("users".into())), "ToValue, not Debug, for strings");
    assert_eq!(q.attribute("rows"), Some(&Value::U64(4)), "integers stay integers");
    assert_eq!(text(q, "who"), "Secret", "other types through Debug");
    assert_eq!(text(q, "return"), "[0, 0]");
}

#[derive(Debug)]
struct Declined(u32);
impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "card declined (code {})", self.0)
    }
}

#[telem::span(err)]
fn charge(amount: u32) -> Result<u32, Declined> {
    if amount > 100 {
        return Err(Declined(51));
    }
    let ok: Result<u32, Declined> = Ok(amount);
    let v = ok?;
    Ok(v)
}

#[test]
fn err_marks_the_span_with_the_display_of_the_error() {
    let (telem, memory) = start();
    assert!(charge(5).is_ok());
    assert!(charge(500).is_err());
    assert!(telem.shutdown());
    let spans = memory.spans();
    let charges = all(&spans, "charge");
    assert_eq!(charges[0].status, Status::Unset);
    assert_eq!(charges[1].status, Status::Error("card declined (code 51)".into()));
}

#[telem::span]
fn explode(depth: u32) {
    if depth == 0 {
        panic!("boom at the bottom");
    }
    explode(depth - 1);
}

#[test]
fn a_panic_unwinding_through_spans_marks_each_failed_and_they_are_exported() {
    let (telem, memory) = start();
    let caught = std::panic::catch_unwind(|| explode(2));
    assert!(caught.is_err());
    telem::in_span("after", |_| {});
    assert!(telem.shutdown());
    let spans = memory.spans();
    let exploded = all(&spans, "explode");
    assert_eq!(exploded.len(), 3);
    for s in &exploded {
        match &s.status {
            Status::Error(message) => assert!(message.contains("boom at the bottom"), "{message}"),
            other => panic!("expected error, got {other:?}"),
        }
    }
    assert_child(exploded[0], exploded[1]);
    assert_child(exploded[1], exploded[2]);
    assert_root(exploded[2]);
    assert_root(one(&spans, "after"));
    assert_eq!(one(&spans, "after").status, Status::Unset, "context restored after the unwind");
}

struct Account {
    balance: i64,
}

trait Ledger {
    fn post(&mut self, amount: i64) -> i64;
}

impl Account {
    #[telem::span]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[telem::span]
    fn close(self) -> i64 {
        self.balance()
    }
}

impl Ledger for Account {
    #[telem::span]
    fn post(&mut self, amount: i64) -> i64 {
        self.balance += amount;
        self.balance()
    }
}

#[telem::span(args)]
fn largest<T>(items: &[T]) -> Option<&T>
where
    T: Ord + std::fmt::Debug,
{
    items.iter().max()
}

#[test]
fn methods_trait_impls_and_generics() {
    let (telem, memory) = start();
    let mut account = Account { balance: 1 };
    assert_eq!(account.post(2), 3);
    assert_eq!(account.close(), 3);
    assert_eq!(largest(&[3, 9, 4]), Some(&9));
    assert!(telem.shutdown());
    let spans = memory.spans();
    let post = one(&spans, "post");
    let close = one(&spans, "close");
    let balances = all(&spans, "balance");
    assert_eq!(balances.len(), 2);
    assert_child(balances[0], post);
    assert_child(balances[1], close);
    assert_eq!(text(one(&spans, "largest"), "items"), "[3, 9, 4]");
}

#[test]
fn manual_span_ended_on_another_thread_is_exported_once_under_its_parent() {
    let (telem, memory) = start();
    let mut parent = telem::Span::start("request");
    let worker = {
        let _entered = parent.enter();
        let mut upload = telem::Span::builder("upload").kind(telem::SpanKind::Producer).start();
        upload.set_attribute("bytes", 1024u64);
        std::thread::spawn(move || {
            telem::in_span("encode", |_| {});
            upload.end();
        })
    };
    worker.join().unwrap();
    parent.end();
    assert!(telem.shutdown());
    let spans = memory.spans();
    assert_eq!(spans.len(), 3);
    let request = one(&spans, "request");
    let upload = one(&spans, "upload");
    assert_root(request);
    assert_child(upload, request);
    assert_eq!(upload.kind, telem::SpanKind::Producer);
    assert_eq!(upload.attribute("bytes"), Some(&Value::U64(1024)));
    assert_ne!(upload.thread.id, request.thread.id, "ended on the worker thread");
    assert_root(one(&spans, "encode"));
}

#[telem::span]
fn annotate(n: u32) -> u32 {
    telem::current_span().set_attribute("n.squared", n * n);
    if n == 0 {
        telem::current_span().record_error("zero");
    }
    n
}

#[test]
fn current_span_reaches_the_enclosing_span() {
    let (telem, memory) = start();
    annotate(3);
    annotate(0);
    telem::in_span(format!("dynamic-{}", 7), |span| {
        span.set_attribute("k", "v");
        telem::current_span().set_attribute("via", "current");
    });
    telem::current_span().set_attribute("nobody", 1); // no current span: a no-op
    assert!(telem.shutdown());
    let spans = memory.spans();
    let a = all(&spans, "annotate");
    assert_eq!(a[0].attribute("n.squared"), Some(&Value::U64(9)));
    assert_eq!(a[1].status, Status::Error("zero".into()));
    let d = one(&spans, "dynamic-7");
    assert_eq!(d.attribute("k"), Some(&Value::Str("v".into())));
    assert_eq!(d.attribute("via"), Some(&Value::Str("current".into())));
}

#[test]
fn traceparent_continues_a_remote_trace() {
    let (telem, memory) = start();
    let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let remote = telem::Context::from_traceparent(header).unwrap();
    {
        let _attached = remote.attach();
        parse("x");
    }
    for bad in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    ] {
        let err = telem::Context::from_traceparent(bad).unwrap_err();
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    assert!(telem.shutdown());
    let spans = memory.spans();
    let p = one(&spans, "parse");
    assert_eq!(p.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(p.parent_id.unwrap().to_string(), "00f067aa0ba902b7");
    let ctx = telem::Context { span_id: p.span_id, ..remote };
    assert_eq!(telem::Context::from_traceparent(&ctx.traceparent()).unwrap(), ctx);
}

#[test]
fn without_init_nothing_is_recorded_and_code_still_runs() {
    assert_eq!(parse("a b c"), 6);
    assert!(!telem::current_span().is_recording());
    assert_eq!(telem::stats(), telem::Stats::default());
    assert!(telem::flush());
    assert!(telem::shutdown(std::time::Duration::from_secs(1)));
}

#[telem::span]
fn catches_then_resumes_another() {
    // An earlier panic, caught inside this very span...
    let _ = std::panic::catch_unwind(|| panic!("an earlier, unrelated panic"));
    // ...then an unwind that did not start with a panic on this thread (rayon, scoped threads and
    // join handles re-raise a payload with `resume_unwind`, which runs no hook).
    std::panic::resume_unwind(Box::new(String::from("re-raised from a worker")));
}

#[test]
fn a_span_carries_the_message_of_its_own_unwind_only() {
    let (telem, memory) = start();
    // An application hook installed after `init` that does not chain (color-eyre, human-panic).
    std::panic::set_hook(Box::new(|_| {}));
    let _ = std::panic::catch_unwind(|| explode(1));
    let _ = std::panic::catch_unwind(catches_then_resumes_another);
    // A scoped thread's panic re-raised in the spawning thread.
    let _ = std::panic::catch_unwind(|| {
        telem::in_span("scope", |_| {
            std::thread::scope(|s| {
                s.spawn(|| panic!("in a scoped thread"));
            })
        })
    });
    assert!(telem.shutdown());
    let spans = memory.spans();
    for s in all(&spans, "explode") {
        assert_eq!(s.status, Status::Error("boom at the bottom".into()), "kept despite the later hook");
    }
    assert_eq!(one(&spans, "catches_then_resumes_another").status, Status::Error("re-raised from a worker".into()));
    match &one(&spans, "scope").status {
        // std re-raises a scoped thread's panic with its own message.
        Status::Error(message) => assert!(!message.contains("earlier"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[telem::span(fields(big = 5u128, huge = u128::MAX, negative = -7i128, cow = std::borrow::Cow::Borrowed("cow"), boxed = Box::<str>::from("boxed"), shared = std::sync::Arc::<str>::from("shared"), letter = 'x'))]
fn typed_fields() {}

#[test]
fn values_keep_their_type_and_strings_are_strings() {
    let (telem, memory) = start();
    typed_fields();
    assert!(telem.shutdown());
    let spans = memory.spans();
    let s = one(&spans, "typed_fields");
    assert_eq!(s.attribute("big"), Some(&telem::Value::U64(5)), "a 128-bit value that fits is a number");
    assert_eq!(text(s, "huge"), u128::MAX.to_string(), "one that does not is its decimal digits");
    assert_eq!(s.attribute("negative"), Some(&telem::Value::I64(-7)));
    assert_eq!(text(s, "cow"), "cow");
    assert_eq!(text(s, "boxed"), "boxed");
    assert_eq!(text(s, "shared"), "shared");
    assert_eq!(text(s, "letter"), "x");
}

#[test]
fn an_attribute_set_twice_is_one_key_with_the_last_value() {
    let (telem, memory) = start();
    telem::in_span("twice", |span| {
        span.set_attribute("k", 1);
        span.set_attribute("other", true);
        span.set_attribute("k", "two");
    });
    let mut s = telem::Span::builder("built").attribute("k", 1).start();
    s.set_attribute("k", 2);
    s.end();
    assert!(telem.shutdown());
    let spans = memory.spans();
    let twice = one(&spans, "twice");
    assert_eq!(twice.attributes.len(), 2, "{:?}", twice.attributes);
    assert_eq!(twice.attributes[0], ("k".to_string(), telem::Value::from("two")), "keeps its place, takes the value");
    assert_eq!(one(&spans, "built").attributes, vec![("k".to_string(), telem::Value::I64(2))]);
}

#[test]
fn current_span_names_no_span_under_a_context_attached_from_elsewhere() {
    let (telem, memory) = start();
    let remote = telem::Context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    {
        let _attached = remote.attach();
        let current = telem::current_span();
        assert!(!current.is_recording(), "the remote span is not here to take attributes");
        current.set_attribute("lost", 1);
        telem::in_span("local", |_| {
            assert!(telem::current_span().is_recording(), "a local span under it is");
            telem::current_span().set_attribute("kept", 1);
        });
        assert!(!telem::current_span().is_recording());
        assert_eq!(telem::Context::current(), Some(remote.clone()), "the context still propagates");
    }
    assert!(telem.shutdown());
    let spans = memory.spans();
    let local = one(&spans, "local");
    assert_eq!(local.attribute("kept"), Some(&telem::Value::I64(1)));
    assert_eq!(local.parent_id, Some(remote.span_id));
}

#[test]
fn traceparent_flags_are_lowercase_hex_only() {
    for bad in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-FF",
    ] {
        let err = telem::Context::from_traceparent(bad).unwrap_err();
        assert!(err.to_string().contains("flags"), "{err}");
    }
    assert!(telem::Context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0a").is_ok());
}

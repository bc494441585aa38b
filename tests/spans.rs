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

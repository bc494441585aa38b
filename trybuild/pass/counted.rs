// `#[counted]` on every shape: sync (plain and `Result`, early `return` and `?`), methods, trait-impl
// methods, generics, `#[track_caller]`, `async fn`, `impl Future`, boxed futures, and together with
// `#[span]`/`#[flow]` in either order. The counts are read back from the exposition.
#[path = "../support/mod.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;

#[telem::counted]
fn plain(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    n + 1
}

#[telem::counted(name = "parse.calls", duration, concurrency, labels(kind = "int", version = 2))]
fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

#[telem::counted(buckets = [0.001, 0.01, 1])]
fn io_result() -> std::io::Result<()> {
    Ok(())
}

struct Db(u32);

impl Db {
    #[telem::counted]
    fn get(&self) -> u32 {
        self.0
    }

    #[telem::counted]
    fn bump(&mut self) -> &mut u32 {
        self.0 += 1;
        &mut self.0
    }
}

trait Store {
    fn load(&self, key: &str) -> Result<String, String>;
}

impl Store for Db {
    #[telem::counted]
    fn load(&self, key: &str) -> Result<String, String> {
        if key.is_empty() { Err("empty key".into()) } else { Ok(format!("{key}={}", self.0)) }
    }
}

#[telem::counted]
fn generic<T: Clone + std::fmt::Debug>(t: &T) -> T
where
    T: Default,
{
    t.clone()
}

#[telem::counted]
#[track_caller]
fn located() -> u32 {
    std::panic::Location::caller().line()
}

#[telem::counted(duration)]
async fn fetch(n: u32) -> Result<u32, String> {
    support::yield_once().await;
    if n == 0 { Err("none".into()) } else { Ok(n) }
}

#[telem::counted]
fn later(n: u32) -> impl Future<Output = u32> + Send {
    async move { n * 2 }
}

#[telem::counted]
fn boxed(n: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move { if n > 0 { Ok(n) } else { Err("zero".into()) } })
}

#[telem::counted(name = "spanned.calls")]
#[telem::span(err)]
fn counted_then_span(n: u32) -> Result<u32, String> {
    if n == 0 { Err("zero".into()) } else { Ok(n) }
}

#[telem::span]
#[telem::counted(name = "spanned.calls")]
fn span_then_counted(n: u32) -> u32 {
    n
}

#[telem::counted(name = "flow.calls")]
#[telem::flow]
fn pipeline(items: &[u32]) -> Result<u32, String> {
    #[step("sum")]
    let sum: u32 = items.iter().sum();
    #[step]
    let checked = if sum > 100 { Err("too big".to_owned()) } else { Ok(sum) }?;
    Ok(checked)
}

fn value(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

fn main() {
    let m = module_path!();
    let spans = support::collect(|| {
        assert_eq!(plain(0) + plain(1), 2);
        assert!(parse("7").is_ok() && parse("x").is_err());
        io_result().unwrap();
        let mut db = Db(1);
        *db.bump() += 1;
        assert_eq!(db.get(), 3);
        assert!(db.load("").is_err() && db.load("k").is_ok());
        assert_eq!(generic(&5u8), 5);
        assert!(located() > 0);
        assert_eq!(support::block_on(fetch(0)), Err("none".into()));
        assert_eq!(support::block_on(fetch(2)), Ok(2));
        assert_eq!(support::block_on(later(2)), 4);
        assert!(support::block_on(boxed(0)).is_err());
        assert!(counted_then_span(0).is_err() && counted_then_span(1).is_ok());
        assert_eq!(span_then_counted(3), 3);
        assert!(pipeline(&[1, 2]).is_ok() && pipeline(&[100, 1]).is_err());
    });
    let text = telem::metrics::render();
    let calls = |f: &str, extra: &str| value(&text, &format!(r#"function_calls_total{{function="{f}",module="{m}"{extra}}}"#));
    assert_eq!(calls("plain", ""), 2);
    assert_eq!(calls("io_result", r#",result="ok""#), 1);
    assert_eq!(calls("get", ""), 1);
    assert_eq!(calls("bump", ""), 1);
    assert_eq!(calls("load", r#",result="error""#), 1);
    assert_eq!(calls("load", r#",result="ok""#), 1);
    assert_eq!(calls("generic", ""), 1);
    assert_eq!(calls("located", ""), 1);
    assert_eq!(calls("fetch", r#",result="error""#), 1);
    assert_eq!(calls("fetch", r#",result="ok""#), 1);
    assert_eq!(calls("later", ""), 1);
    assert_eq!(calls("boxed", r#",result="error""#), 1);
    let parse = |extra: &str| value(&text, &format!(r#"parse_calls_total{{function="parse",module="{m}",result="{extra}",kind="int",version="2"}}"#));
    assert_eq!((parse("ok"), parse("error")), (1, 1));
    assert_eq!(value(&text, &format!(r#"parse_calls_duration_seconds_count{{function="parse",module="{m}",kind="int",version="2"}}"#)), 2);
    assert_eq!(value(&text, &format!(r#"parse_calls_concurrent{{function="parse",module="{m}",kind="int",version="2"}}"#)), 0);
    let spanned = |f: &str, extra: &str| value(&text, &format!(r#"spanned_calls_total{{function="{f}",module="{m}"{extra}}}"#));
    assert_eq!(spanned("counted_then_span", r#",result="error""#), 1);
    assert_eq!(spanned("span_then_counted", ""), 1);
    assert_eq!(value(&text, &format!(r#"flow_calls_total{{function="pipeline",module="{m}",result="error"}}"#)), 1);
    // The spans are still there, steps included.
    assert_eq!(spans.iter().filter(|s| s.name == "counted_then_span").count(), 2);
    assert_eq!(spans.iter().filter(|s| s.name == "sum").count(), 2);
}

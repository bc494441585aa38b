// Bodies with early `return` and `?` (including `?` that converts the error with `From`), under each
// expansion: inline body, body in a closure (`err`/`ret`), async body, `impl Future`.
#[path = "../support/mod.rs"]
mod support;
use support::block_on;

use std::future::Future;
use std::num::ParseIntError;

#[derive(Debug, PartialEq)]
struct MyError(String);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ParseIntError> for MyError {
    fn from(e: ParseIntError) -> Self {
        MyError(e.to_string())
    }
}

#[telem::span]
fn plain(s: &str) -> Result<u32, MyError> {
    if s.is_empty() {
        return Ok(0);
    }
    let n: u32 = s.parse()?;
    Ok(n)
}

#[telem::span(err)]
fn with_err(s: &str) -> Result<u32, MyError> {
    if s.is_empty() {
        return Err(MyError("empty".to_owned()));
    }
    let n: u32 = s.parse()?;
    Ok(n)
}

#[telem::span(err, ret)]
fn with_err_ret(s: &str) -> Result<u32, MyError> {
    if s == "0" {
        return Ok(0);
    }
    Ok(s.parse::<u32>()? + 1)
}

#[telem::span(ret)]
fn option(v: &[u32]) -> Option<u32> {
    let first = v.first()?;
    if *first == 0 {
        return None;
    }
    Some(first * 10)
}

#[telem::span(err)]
fn boxed(s: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let n: u32 = s.parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

#[telem::span(err)]
async fn asynchronous(s: &str) -> Result<u32, MyError> {
    if s.is_empty() {
        return Err(MyError("empty".to_owned()));
    }
    let n: u32 = s.parse()?;
    Ok(n)
}

#[telem::span(err)]
fn future(s: &'static str) -> impl Future<Output = Result<u32, MyError>> {
    if s.is_empty() {
        return std::future::ready(Ok(0));
    }
    std::future::ready(s.parse::<u32>().map_err(MyError::from))
}

#[telem::span(fields(len = v.len()))]
fn loop_return(v: &[u32]) -> usize {
    for (i, x) in v.iter().enumerate() {
        if *x == 0 {
            return i;
        }
    }
    v.len()
}

fn main() {
    assert_eq!(plain(""), Ok(0));
    assert_eq!(plain("7"), Ok(7));
    assert!(plain("x").is_err());
    assert_eq!(with_err(""), Err(MyError("empty".to_owned())));
    assert_eq!(with_err("8"), Ok(8));
    assert_eq!(with_err("x"), Err(MyError("invalid digit found in string".to_owned())));
    assert_eq!(with_err_ret("0"), Ok(0));
    assert_eq!(with_err_ret("1"), Ok(2));
    assert!(with_err_ret("-").is_err());
    assert_eq!(option(&[]), None);
    assert_eq!(option(&[0]), None);
    assert_eq!(option(&[2]), Some(20));
    assert_eq!(boxed("3").unwrap(), 3);
    assert_eq!(boxed("0").unwrap_err().to_string(), "zero");
    assert!(boxed("x").is_err());
    assert_eq!(block_on(asynchronous("")), Err(MyError("empty".to_owned())));
    assert_eq!(block_on(asynchronous("5")), Ok(5));
    assert!(block_on(asynchronous("y")).is_err());
    assert_eq!(block_on(future("")), Ok(0));
    assert_eq!(block_on(future("9")), Ok(9));
    assert_eq!(loop_return(&[1, 0]), 1);
    assert_eq!(loop_return(&[1]), 1);

    let spans = support::collect(|| {
        let _ = with_err("x");
        let _ = block_on(asynchronous(""));
    });
    let status: Vec<_> = spans.iter().map(|s| (s.name.as_str(), s.status.clone())).collect();
    assert_eq!(
        status,
        [
            ("with_err", telem::Status::Error("invalid digit found in string".into())),
            ("asynchronous", telem::Status::Error("empty".into())),
        ]
    );
}

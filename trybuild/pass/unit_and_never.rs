// `()` (written or not) and `!` returns, with `ret`, sync and async: `()` is recorded as such, `!` never
// returns so nothing is recorded; no warning from the expansion (`deny(warnings)`).
#![deny(warnings)]

#[path = "../support/mod.rs"]
mod support;
use support::block_on;

#[telem::span(ret)]
fn unit(v: &mut Vec<u8>) {
    v.push(1);
}

#[telem::span(ret)]
#[allow(clippy::unused_unit)]
fn written_unit(v: &mut Vec<u8>) -> () {
    v.push(2);
}

#[telem::span(ret)]
async fn unit_async(v: &mut Vec<u8>) {
    v.push(3);
}

#[telem::span(ret)]
fn never(code: i32) -> ! {
    std::process::exit(code)
}

#[telem::span(ret)]
async fn never_async() -> ! {
    loop {
        support::yield_once().await;
    }
}

fn main() {
    let mut v = Vec::new();
    let spans = support::collect(|| {
        unit(&mut v);
        written_unit(&mut v);
        block_on(unit_async(&mut v));
    });
    assert_eq!(v, [1, 2, 3]);
    let ret: Vec<_> = spans.iter().map(|s| (s.name.as_str(), s.attribute("return").cloned())).collect();
    let unit = Some(telem::Value::from("()".to_owned()));
    assert_eq!(ret, [("unit", unit.clone()), ("written_unit", unit.clone()), ("unit_async", unit)]);
    let _ = never_async;
    never(0)
}

// Return types with `impl Trait` inside: the expansion declares them with `_` in its place (`Box<_>`),
// for sync and async bodies, with and without `ret`; a bare `impl Trait` is left to inference.
#[path = "../support/mod.rs"]
mod support;
use support::block_on;

use std::fmt::Debug;

#[telem::span(ret)]
fn boxed(flag: bool) -> Box<impl Debug> {
    if flag {
        return Box::new(1);
    }
    Box::new(2)
}

#[telem::span(ret)]
fn pair() -> (impl Debug, Vec<impl Debug + Clone>) {
    ("a", vec![1u8])
}

#[telem::span]
fn iter(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[telem::span(err, ret)]
fn fallible(ok: bool) -> Result<Box<impl Debug>, String> {
    if ok {
        Ok(Box::new('x'))
    } else {
        Err("no".to_owned())
    }
}

#[telem::span(ret)]
async fn boxed_async(flag: bool) -> Box<impl Debug> {
    if flag {
        return Box::new(3);
    }
    Box::new(4)
}

#[telem::span(err)]
async fn fallible_async(ok: bool) -> Result<Vec<impl Debug>, String> {
    if !ok {
        return Err("no".to_owned());
    }
    Ok(vec![5u8])
}

#[telem::span]
async fn opaque() -> impl Debug {
    6
}

fn main() {
    assert_eq!(format!("{:?}", boxed(true)), "1");
    assert_eq!(format!("{:?}", pair()), "(\"a\", [1])");
    assert_eq!(iter(3).sum::<u32>(), 3);
    assert_eq!(format!("{:?}", block_on(boxed_async(false))), "4");
    assert_eq!(format!("{:?}", block_on(opaque())), "6");

    let spans = support::collect(|| {
        assert_eq!(format!("{:?}", boxed(false)), "2");
        assert_eq!(format!("{:?}", fallible(true)), "Ok('x')");
        assert!(fallible(false).is_err());
        assert_eq!(format!("{:?}", block_on(boxed_async(true))), "3");
        assert_eq!(format!("{:?}", block_on(fallible_async(true))), "Ok([5])");
        assert!(block_on(fallible_async(false)).is_err());
    });
    let got: Vec<_> =
        spans.iter().map(|s| (s.name.as_str(), s.attribute("return").cloned(), s.status.clone())).collect();
    let text = |s: &str| Some(telem::Value::from(s.to_owned()));
    assert_eq!(
        got,
        [
            ("boxed", text("2"), telem::Status::Unset),
            ("fallible", text("'x'"), telem::Status::Unset),
            ("fallible", None, telem::Status::Error("no".into())),
            ("boxed_async", text("3"), telem::Status::Unset),
            ("fallible_async", None, telem::Status::Unset),
            ("fallible_async", None, telem::Status::Error("no".into())),
        ]
    );
}

// `err` and `ret` run the body in a closure that declares the function's return type, so the body's
// coercions (`Box<T>` to `Box<dyn Trait>`) work as in the plain function.
#[path = "../support/mod.rs"]
mod support;

use std::fmt::{Debug, Display};

#[telem::span(ret)]
fn debug(flag: bool) -> Box<dyn Debug> {
    if flag {
        Box::new(1)
    } else {
        Box::new("a")
    }
}

#[telem::span(err)]
fn display(flag: bool) -> Result<Box<dyn Display>, String> {
    if flag {
        Ok(Box::new(1))
    } else {
        Ok(Box::new("a"))
    }
}

#[telem::span(err, ret)]
fn early(flag: bool) -> Result<Box<dyn Debug>, Box<dyn std::error::Error>> {
    if flag {
        return Ok(Box::new(2u8));
    }
    Err("no".into())
}

fn main() {
    assert_eq!(format!("{:?}", debug(true)), "1");
    assert_eq!(format!("{:?}", debug(false)), "\"a\"");
    assert_eq!(display(true).unwrap().to_string(), "1");
    assert_eq!(display(false).unwrap().to_string(), "a");
    assert_eq!(format!("{:?}", early(true).unwrap()), "2");
    assert_eq!(early(false).unwrap_err().to_string(), "no");

    let spans = support::collect(|| {
        let _ = debug(false);
        let _ = early(true);
        let _ = early(false);
    });
    let got: Vec<_> =
        spans.iter().map(|s| (s.name.as_str(), s.attribute("return").cloned(), s.status.clone())).collect();
    assert_eq!(
        got,
        [
            ("debug", Some(telem::Value::from("\"a\"".to_owned())), telem::Status::Unset),
            ("early", Some(telem::Value::from("2".to_owned())), telem::Status::Unset),
            ("early", None, telem::Status::Error("no".into())),
        ]
    );
}

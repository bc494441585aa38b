// `ret`: sync, with `err`, on `()`, on references, on async.
#[path = "../support/mod.rs"]
mod support;

use telem::Value;

#[telem::span(ret)]
fn square(x: i32) -> i32 {
    x * x
}

#[telem::span(ret)]
fn nothing() {}

#[telem::span(ret)]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

#[telem::span(ret, err)]
fn half(x: u32) -> Result<u32, String> {
    if x % 2 == 0 {
        Ok(x / 2)
    } else {
        Err(format!("{x} is odd"))
    }
}

#[telem::span(ret)]
async fn pair() -> (u8, &'static str) {
    (1, "one")
}

fn main() {
    let spans = support::collect(|| {
        assert_eq!(square(-3), 9);
        nothing();
        assert_eq!(longest("ab", "c"), "ab");
        assert_eq!(half(4), Ok(2));
        assert_eq!(half(3), Err("3 is odd".to_owned()));
        assert_eq!(support::block_on(pair()), (1, "one"));
    });
    let ret: Vec<(&str, Option<&Value>)> = spans.iter().map(|s| (s.name.as_str(), s.attribute("return"))).collect();
    assert_eq!(
        ret,
        [
            ("square", Some(&Value::from("9".to_owned()))),
            ("nothing", Some(&Value::from("()".to_owned()))),
            ("longest", Some(&Value::from("\"ab\"".to_owned()))),
            ("half", Some(&Value::from("2".to_owned()))),
            ("half", None),
            ("pair", Some(&Value::from("(1, \"one\")".to_owned()))),
        ]
    );
}

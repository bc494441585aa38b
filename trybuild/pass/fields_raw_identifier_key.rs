// `fields` with raw identifiers: the key loses its `r#` (as `args` does), the shorthand value keeps it.
#[path = "../support/mod.rs"]
mod support;

#[telem::span(fields(r#type, msg.r#loop = 1, r#match = r#type.len()))]
fn f(r#type: &str) -> usize {
    r#type.len()
}

fn main() {
    let spans = support::collect(|| {
        assert_eq!(f("xy"), 2);
    });
    let keys: Vec<&str> = spans[0].attributes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["type", "msg.loop", "match"]);
    assert_eq!(spans[0].attribute("type"), Some(&telem::Value::from("xy")));
    assert_eq!(spans[0].attribute("match"), Some(&telem::Value::from(2u64)));
}

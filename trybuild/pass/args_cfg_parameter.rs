// `args` with a parameter removed by `#[cfg]`: the recording of that parameter is configured away too.
#[path = "../support/mod.rs"]
mod support;

#[telem::span(args)]
fn f(#[cfg(any())] a: u32, b: u32, #[cfg(all())] c: u32) -> u32 {
    b + c
}

fn main() {
    assert_eq!(f(1, 2), 3);

    let spans = support::collect(|| {
        assert_eq!(f(4, 5), 9);
    });
    assert_eq!(spans.len(), 1);
    let keys: Vec<&str> = spans[0].attributes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["b", "c"]);
    assert_eq!(spans[0].attribute("b"), Some(&telem::Value::from("4".to_owned())));
}

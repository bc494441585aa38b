// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `fields(r#type)` / `fields(r#type = ..)` records the key "r#type" instead of "type" (`args` strips the
// `r#`, `fields` does not). Fix in attr.rs Field::parse: build the key from `ident.unraw()` (IdentExt),
// but keep the raw ident for the shorthand value (`syn::parse_str("type")` would fail).
#[path = "../support/mod.rs"]
mod support;

#[telem::span(fields(r#type, msg.r#loop = 1))]
fn f(r#type: &str) -> usize {
    r#type.len()
}

fn main() {
    let spans = support::collect(|| {
        f("x");
    });
    let keys: Vec<&str> = spans[0].attributes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["type", "msg.loop"]);
}

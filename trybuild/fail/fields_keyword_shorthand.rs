// Rejected, but see ../known_bugs/fields_shorthand_error_spanned_at_attribute.rs: the error should say
// "expected `key = value`" at `type` (a keyword is no variable name), not "cannot find value `r#type`".
#[telem::span(fields(type))]
fn f() {}
fn main() {}

// KNOWN MACRO BUG (not run by tests/ui.rs; belongs in ../fail/ once the error is reported once).
// A syntax error inside an instrumented function is reported twice: by the macro (syn's
// "unexpected end of input, expected an expression") and again by rustc when it parses the item the
// macro passes through ("expected expression, found `}`"). When the item parses as nothing, func::parse
// should emit no error of its own and let rustc report it. Expected to FAIL to compile, with one error.
#[telem::span]
fn f() -> u32 {
    1 +
}

fn main() {}

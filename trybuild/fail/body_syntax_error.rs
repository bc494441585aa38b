// A syntax error in an instrumented function's body is reported once, by the compiler.
#[telem::span]
fn f() -> u32 {
    1 +
}

fn main() {}

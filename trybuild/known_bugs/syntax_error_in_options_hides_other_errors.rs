// KNOWN MACRO LIMITATION (not run by tests/ui.rs; belongs in ../fail/ once all errors are reported).
// One option that is not valid `Meta` syntax (`kind = client server`) makes attr::parse return at the
// first error, so `bogus` (unknown option) and `err` on a `u32` function are not reported.
// Expected to FAIL to compile, with three errors; today it shows only "expected `,`".
#[telem::span(kind = client server, bogus, err)]
fn f() -> u32 {
    1
}

fn main() {}

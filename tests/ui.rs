//! Compile-time behaviour of `#[telem::span]`: programs that must build and run, and misuses that must
//! be rejected with the checked-in errors. Regenerate the `.stderr` files with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("trybuild/pass/*.rs");
    t.compile_fail("trybuild/fail/*.rs");
}

//! Compile-time behaviour of `migrate!()`: valid directories compile (and their embedded data is
//! checked at run time), every class of broken directory fails with the expected messages.
//!
//! Cases in `tests/ui/` point at `tests/fixtures/<case>/` with paths relative to the case file.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite`, then read them.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}

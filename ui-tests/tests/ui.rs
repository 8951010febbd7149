//! Every diagnostic the macros emit has a case under `fail/` with its `.stderr`
//! snapshot; every attribute and option compiles in a case under `pass/`.
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p ui-tests`, then read each
//! one: every error must sit on the user's token and say what to write.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}

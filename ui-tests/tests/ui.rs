//! Every diagnostic the macros emit has a case under `fail/` with its `.stderr`
//! snapshot; every attribute and option compiles in a case under `pass/`.
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p ui-tests`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
